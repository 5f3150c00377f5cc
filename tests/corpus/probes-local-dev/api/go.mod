module example.com/hostdev/api

go 1.22
