module example.com/webapp-operator

go 1.22
