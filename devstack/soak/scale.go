package main

import (
	"context"
	"fmt"
)

func runScale(ctx context.Context, o options) error {
	return fmt.Errorf("not yet")
}
