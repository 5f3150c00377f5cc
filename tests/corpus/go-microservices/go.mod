module example.com/orders-platform

go 1.22
