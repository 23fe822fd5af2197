package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"dealflow/db/dbtest"
	"dealflow/devstack"
)

// BenchmarkIntakePeakRSS measures the worker process's peak resident
// memory (VmHWM, reset before each case) while it takes finance files at
// and past its limits, as docs/intake-memory.md records:
//
//	go test -run '^$' -bench IntakePeakRSS -benchtime 1x ./worker
//
// The cases, in this order on one worker: hostile files of empty cells at
// the byte cap (CSV rows, one CSV line, JSON objects), each refused with
// 413; the largest file accepted (100,000 rows, just under 32 MiB) and 50
// concurrent posts of 1 MiB, each until its jobs answered every row. The goal
// is under 512 MiB each. The peak is reset before each case, but the Go
// heap a case leaves behind counts in the next one's peak (printed as the
// RSS before).
func BenchmarkIntakePeakRSS(b *testing.B) {
	ctx := context.Background()
	tsrv, err := devstack.StartTemporal(ctx, devstack.TemporalOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer tsrv.Stop()
	dbURL, drop, err := dbtest.CreateDatabase(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		b.Fatal(err)
	}
	defer drop()
	bin := filepath.Join(b.TempDir(), "worker")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	const token = "bench-finance-token-0123456789abcdef"
	env := append(os.Environ(), "DATABASE_URL="+dbURL, "TEMPORAL_ADDRESS="+tsrv.FrontendHostPort(), "HTTP_ADDR=127.0.0.1:0",
		"FINANCE_API_TOKEN="+token, "DASHBOARD_TOKEN=")
	cmd, addr, err := devstack.StartWorker(bin, env)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	pid := cmd.Process.Pid

	post := func(path, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return resp.StatusCode, string(out)
	}
	// waitJob waits until the job a 202 answer names has answered every row.
	waitJob := func(accepted string) {
		var job struct {
			StatusURL string `json:"status_url"`
		}
		_ = json.Unmarshal([]byte(accepted), &job)
		for deadline := time.Now().Add(20 * time.Minute); time.Now().Before(deadline); time.Sleep(time.Second) {
			req, _ := http.NewRequest(http.MethodGet, "http://"+addr+job.StatusURL+"?page=1", nil)
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				continue
			}
			var st struct{ Status string }
			_ = json.NewDecoder(resp.Body).Decode(&st)
			resp.Body.Close()
			if st.Status == "done" {
				return
			}
		}
		b.Fatalf("job %s did not finish in 20 minutes", job.StatusURL)
	}
	header := "deal_id,invoice_id,category,amount,currency,date,supplier,memo\n"
	row := func(i, width int) string {
		r := fmt.Sprintf("bench-%d,INV-%d,subcontractor,%d.%02d,EUR,2026-01-15,Initech GmbH,", i%100, i, 100+i%9000, i%100)
		return r + strings.Repeat("m", max(0, width-len(r)-1)) + "\n"
	}
	var largest strings.Builder
	largest.WriteString(header)
	for i := range 100_000 {
		largest.WriteString(row(i, 335)) // 100,000 rows: just under 32 MiB
	}
	const capBytes = 32 << 20
	cases := []struct {
		name string
		run  func() string
	}{
		{"hostile CSV: rows of empty cells to the byte cap", func() string {
			code, body := post("/api/invoices.csv", header+strings.Repeat(",\n", (capBytes-len(header))/2))
			return fmt.Sprintf("%d %.80s", code, body)
		}},
		{"hostile CSV: one line of empty cells to the byte cap", func() string {
			code, body := post("/api/invoices.csv", header+strings.Repeat(",", capBytes-len(header)))
			return fmt.Sprintf("%d %.80s", code, body)
		}},
		{"hostile JSON: empty objects to the byte cap", func() string {
			code, body := post("/api/invoices", "["+strings.Repeat("{},", capBytes/3-1)+"{}]")
			return fmt.Sprintf("%d %.80s", code, body)
		}},
		{"largest accepted file (100,000 rows, 32 MiB), until its job is done", func() string {
			code, body := post("/api/invoices.csv", largest.String())
			if code != http.StatusAccepted {
				b.Fatalf("the largest file: %d %s", code, body)
			}
			waitJob(body)
			return fmt.Sprintf("202, job done (%d bytes)", largest.Len())
		}},
		{"50 concurrent posts of 1 MiB (about 3,100 rows each), until their jobs are done", func() string {
			var wg sync.WaitGroup
			codes, bodies := make([]int, 50), make([]string, 50)
			for p := range 50 {
				var f strings.Builder
				f.WriteString(header)
				for i := 0; f.Len() < 1<<20-400; i++ {
					f.WriteString(row(1_000_000*(p+1)+i, 335))
				}
				wg.Go(func() { codes[p], bodies[p] = post("/api/invoices.csv", f.String()) })
			}
			wg.Wait()
			for p := range 50 {
				if codes[p] != http.StatusAccepted {
					b.Fatalf("post %d: %d %s", p, codes[p], bodies[p])
				}
				waitJob(bodies[p])
			}
			return fmt.Sprint("answers ", codes[:5], "…")
		}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			for range b.N {
				if err := os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0); err != nil {
					b.Fatalf("resetting the peak RSS: %v", err)
				}
				before := procStatus(b, pid, "VmRSS:")
				what := c.run()
				peak := procStatus(b, pid, "VmHWM:")
				b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
				fmt.Printf("%-70s peak RSS %4d MiB (RSS before: %d MiB)  %s\n", c.name, peak>>20, before>>20, strings.Join(strings.Fields(what), " "))
			}
		})
	}
}

// procStatus is a size the kernel reports of the process (VmHWM, the
// peak resident set since the last reset; VmRSS, the resident set now),
// in bytes.
func procStatus(b *testing.B, pid int, field string) int64 {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for sc.Scan() {
		if f := strings.Fields(sc.Text()); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	b.Fatal("no " + field)
	return 0
}
