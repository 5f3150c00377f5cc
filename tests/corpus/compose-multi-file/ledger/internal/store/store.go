package store

// Store is a placeholder for the real Postgres-backed ledger store.
type Store struct {
	dsn      string
	balances map[string]int64
}

func New(dsn string) *Store {
	return &Store{dsn: dsn, balances: map[string]int64{"cash": 100000}}
}

func (s *Store) Balance(account string) int64 {
	return s.balances[account]
}
