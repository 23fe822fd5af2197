package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"dealflow/db"
)

const defaultDatabaseURL = "postgres://postgres@127.0.0.1:5432/dealflow?sslmode=disable"

// openStore connects to the worker's database (DATABASE_URL), where the
// deals' lists live; what names the command for the error.
func openStore(ctx context.Context, what string) (*db.Store, func(), error) {
	dbURL := os.Getenv("DATABASE_URL")
	if dbURL == "" {
		dbURL = defaultDatabaseURL
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	pool, err := db.Connect(cctx, dbURL)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot reach PostgreSQL at %s (%v); %s reads the worker's database: start PostgreSQL or set DATABASE_URL",
			db.Describe(dbURL), rootCause(err), what)
	}
	return &db.Store{Pool: pool}, pool.Close, nil
}

// notOurDatabase names the likely mistake when the tables are missing.
func notOurDatabase(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P01" { // undefined_table
		return fmt.Errorf("the database has no dealflow tables: is DATABASE_URL the dealflow worker's database?")
	}
	return err
}
