module github.com/ragvsft/ragvsft

go 1.26
