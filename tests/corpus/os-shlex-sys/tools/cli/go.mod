module example.com/greeter/cli

go 1.22
