package devstack

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"regexp"
	"time"
)

// healthLine is the banner's line that says where the worker listens.
var healthLine = regexp.MustCompile(`http://([^/\s]+)/healthz`)

// StartWorker runs a built worker binary with env and waits for its banner
// to say where it listens: for tests and benchmarks that need the worker as
// its own process (to kill it, or to measure its memory).
func StartWorker(bin string, env []string) (*exec.Cmd, string, error) {
	cmd := exec.Command(bin)
	cmd.Env = env
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, "", err
	}
	cmd.Stderr = io.Discard
	if err := cmd.Start(); err != nil {
		return nil, "", err
	}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := healthLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return cmd, a, nil
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, "", fmt.Errorf("the worker did not start within a minute")
	}
}
