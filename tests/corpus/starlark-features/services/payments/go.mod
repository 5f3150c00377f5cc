module example.com/tix/payments

go 1.22
