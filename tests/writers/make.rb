# Writes ruby-psych-N.yaml from data.json (see README.md), without Psych's "---" line.
require 'yaml'
require 'json'
data = JSON.parse(File.read('data.json'))
[3, 17, 42].each { |i| File.write("ruby-psych-#{i}.yaml", data[i].to_yaml.delete_prefix("---\n")) }
