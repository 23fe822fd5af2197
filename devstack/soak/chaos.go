package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"sync"
	"syscall"
	"time"

	"dealflow/devstack/prodstack"
)

// fault is one fault injected and what it took to recover from it.
type fault struct {
	Name string
	At   time.Time
	// Outage is how long the fault itself lasted (the PostgreSQL cut).
	Outage time.Duration
	// Recovery runs from the fault's end until the stack serves again:
	// every deal answers an update, the process hit answers /healthz, and
	// for the upload, the file is taken by the other server.
	Recovery time.Duration
	Err      string
}

// chaos injects the faults in turn, with a pause between them, as long as
// a whole round fits before until: SIGKILL a worker, restart the Temporal
// server, cut PostgreSQL for cut, SIGKILL an HTTP server mid-upload.
func (s *soak) chaos(ctx context.Context, until time.Time, cut time.Duration) {
	const pause = 15 * time.Second
	lap := 4*pause + cut + 4*20*time.Second // the pauses, the cut, recoveries
	for r := 0; r == 0 || time.Until(until) > lap; r++ {
		for _, f := range []func(context.Context, time.Duration) fault{s.killWorker, s.restartTemporal, s.cutPostgres, s.killMidUpload} {
			if ctx.Err() != nil {
				return
			}
			ft := f(ctx, cut)
			s.mu.Lock()
			s.faults = append(s.faults, ft)
			s.mu.Unlock()
			if ft.Err != "" {
				s.fail("%s: %s", ft.Name, ft.Err)
			}
			s.logf("fault %s: recovered in %v %s", ft.Name, round(ft.Recovery), ft.Err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(pause):
			}
		}
	}
}

func (s *soak) killWorker(ctx context.Context, _ time.Duration) fault {
	w := s.stack.Workers[0]
	f := fault{Name: "SIGKILL " + w.Name, At: time.Now()}
	if err := w.Kill(); err != nil {
		f.Err = err.Error()
		return f
	}
	return s.recovered(ctx, f, f.At, s.stack.HTTP[0])
}

func (s *soak) restartTemporal(ctx context.Context, _ time.Duration) fault {
	f := fault{Name: "restart the Temporal server", At: time.Now()}
	if err := s.stack.Temporal.Signal(syscall.SIGTERM); err != nil {
		f.Err = err.Error()
		return f
	}
	return s.recovered(ctx, f, f.At, "")
}

func (s *soak) cutPostgres(ctx context.Context, cut time.Duration) fault {
	f := fault{Name: fmt.Sprintf("cut PostgreSQL for %v", cut), At: time.Now()}
	s.stack.Proxy.Cut()
	select {
	case <-ctx.Done():
	case <-time.After(cut):
	}
	if err := s.stack.Proxy.Restore(); err != nil {
		f.Err = err.Error()
		return f
	}
	f.Outage = time.Since(f.At)
	return s.recovered(ctx, f, time.Now(), "")
}

// killMidUpload sends a 1,500-row CSV to the second worker's HTTP server
// slowly, kills that process with SIGKILL halfway through the body, and
// sends the file again through the other server, as finance would after
// a failed upload.
func (s *soak) killMidUpload(ctx context.Context, _ time.Duration) fault {
	w := s.stack.Workers[1]
	f := fault{Name: "SIGKILL " + w.Name + " mid-upload", At: time.Now()}
	deals := s.delivered()
	if len(deals) == 0 {
		f.Err = "no deal in delivery to upload for"
		return f
	}
	file := s.makeFile(1500, true, deals)
	body, path, ct := file.body()
	pr, pw := io.Pipe()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.stack.HTTP[1]+path, pr)
	req.Header.Set("Authorization", "Bearer "+financeToken)
	req.Header.Set("Content-Type", ct)
	req.ContentLength = int64(len(body))
	var wg sync.WaitGroup
	wg.Add(1)
	var upErr error
	go func() {
		defer wg.Done()
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("the upload was answered %d before the kill", resp.StatusCode)
		}
		upErr = err
	}()
	half := len(body) / 2
	for off := 0; off < half; off += 4096 {
		if _, err := pw.Write(body[off:min(off+4096, half)]); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	f.At = time.Now()
	if err := w.Kill(); err != nil {
		f.Err = err.Error()
	}
	// Go on sending the rest: the client learns of the kill from the
	// connection, as finance's would.
	for off := half; off < len(body); off += 4096 {
		if _, err := pw.Write(body[off:min(off+4096, len(body))]); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	pw.Close()
	wg.Wait()
	s.logf("the upload to %s ended: %v", w.Name, upErr)
	if err := s.send(ctx, file); err != nil {
		f.Err = "sending the file again: " + err.Error()
		return f
	}
	return s.recovered(ctx, f, f.At, s.stack.HTTP[1])
}

// recovered waits until every deal in delivery answers an update (each
// within 5 s) and, when given, the HTTP server answers /healthz, and
// records the time since from.
func (s *soak) recovered(ctx context.Context, f fault, from time.Time, health string) fault {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if health != "" {
		if err := prodstack.WaitHealthy(ctx, health, 5*time.Minute); err != nil {
			f.Err = err.Error()
			return f
		}
	}
	var wg sync.WaitGroup
	sem := make(chan struct{}, 10)
	var mu sync.Mutex
	var failed error
	for _, d := range s.delivered() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for {
				tctx, tcancel := context.WithTimeout(ctx, 5*time.Second)
				err := s.touch(tctx, d)
				tcancel()
				if err == nil {
					return
				}
				if ctx.Err() != nil {
					mu.Lock()
					failed = fmt.Errorf("deal %s did not answer an update: %v", d.ID, err)
					mu.Unlock()
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	f.Recovery = time.Since(from)
	if failed != nil {
		f.Err = failed.Error()
	}
	return f
}
