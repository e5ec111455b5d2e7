// Writes js-yaml-N.yaml and node-yaml-N.yaml from data.json (see README.md).
const jsyaml = require('js-yaml');
const YAML = require('yaml');
const fs = require('fs');
const data = JSON.parse(fs.readFileSync('data.json'));
for (const i of [3, 17, 42]) {
  fs.writeFileSync(`js-yaml-${i}.yaml`, jsyaml.dump(data[i]));
  fs.writeFileSync(`node-yaml-${i}.yaml`, YAML.stringify(data[i]));
}
