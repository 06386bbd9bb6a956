module github.com/ragvsft/ragvsft

go 1.26

require (
	github.com/philippgille/chromem-go v0.7.0
	github.com/stretchr/testify v1.12.1
	gonum.org/v1/gonum v0.16.0
)

require go.yaml.in/yaml/v3 v3.0.5 // indirect
