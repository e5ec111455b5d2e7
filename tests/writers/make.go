// Writes go-yaml-v3-N.yaml from data.json (see README.md).
package main

import (
	"encoding/json"
	"fmt"
	"os"

	"gopkg.in/yaml.v3"
)

func main() {
	raw, err := os.ReadFile("data.json")
	if err != nil {
		panic(err)
	}
	var data []map[string]interface{}
	if err := json.Unmarshal(raw, &data); err != nil {
		panic(err)
	}
	for _, i := range []int{3, 17, 42} {
		out, err := yaml.Marshal(data[i])
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile(fmt.Sprintf("go-yaml-v3-%d.yaml", i), out, 0o644); err != nil {
			panic(err)
		}
	}
}
