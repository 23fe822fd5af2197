// Command stack runs dealflow in its production shape on this machine
// (`make stack`): the Temporal server of compose's version on PostgreSQL,
// two worker processes with their HTTP servers on two ports, and a
// supervisor restarting whatever exits (devstack/prodstack). Ctrl-C stops
// it.
//
// The workers get DASHBOARD_TOKEN and FINANCE_API_TOKEN from the
// environment; when unset, random ones are made and written to
// .stack/tokens.env (mode 0600), never printed.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"dealflow/devstack"
	"dealflow/devstack/prodstack"
)

func main() {
	offset := flag.Int("port-offset", 10000, "added to every Temporal port (frontend 7233+offset)")
	ports := flag.String("http", "18081,18082", "the workers' HTTP ports, one worker process each")
	fresh := flag.Bool("fresh", false, "drop the stack's databases first")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *offset, *ports, *fresh); err != nil {
		fmt.Fprintln(os.Stderr, "stack:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, offset int, ports string, fresh bool) error {
	var httpPorts []int
	for _, p := range strings.Split(ports, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil {
			return fmt.Errorf("-http %q: %v", ports, err)
		}
		httpPorts = append(httpPorts, n)
	}
	root, err := devstack.ModuleRoot()
	if err != nil {
		return err
	}
	dir := filepath.Join(root, ".stack")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	env, made := []string{}, []string{}
	for _, k := range []string{"DASHBOARD_TOKEN", "FINANCE_API_TOKEN"} {
		v := os.Getenv(k)
		if v == "" {
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			v = hex.EncodeToString(b)
			made = append(made, k+"="+v)
		}
		env = append(env, k+"="+v)
	}
	if len(made) > 0 {
		if err := os.WriteFile(filepath.Join(dir, "tokens.env"), []byte(strings.Join(made, "\n")+"\n"), 0o600); err != nil {
			return err
		}
	}
	s, err := prodstack.Start(ctx, prodstack.Options{Dir: dir, PortOffset: offset, HTTPPorts: httpPorts, Fresh: fresh, WorkerEnv: env})
	if err != nil {
		return err
	}
	defer s.Stop()
	fmt.Printf("\ndealflow runs in its production shape.\n")
	fmt.Printf("  Temporal:  %s (PostgreSQL persistence and visibility: %s)\n", s.Frontend, strings.Join(s.Databases[1:], ", "))
	fmt.Printf("  Workers:   %s (one task queue, database %s)\n", strings.Join(s.HTTP, ", "), s.Databases[0])
	if len(made) > 0 {
		fmt.Printf("  Tokens:    %s holds the generated DASHBOARD_TOKEN and FINANCE_API_TOKEN\n", filepath.Join(dir, "tokens.env"))
	}
	fmt.Printf("  Logs:      %s\nCtrl-C stops it.\n\n", dir)
	<-ctx.Done()
	fmt.Println("\nstopping")
	return nil
}
