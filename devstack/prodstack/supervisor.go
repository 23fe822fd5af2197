package prodstack

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Process is one long-running part of the stack under the supervisor,
// which restarts it whenever it exits, as compose's restart policy
// (unless-stopped) does: a Temporal server that exits when PostgreSQL goes
// away, or a worker killed, is a fault to recover from, not an end.
type Process struct {
	Name string
	bin  string
	args []string
	env  []string
	out  io.Writer
	note func(string)

	mu       sync.Mutex
	cmd      *exec.Cmd
	paused   bool
	stopping bool
	exited   chan struct{}
	// Starts counts how often it was started (1 + restarts).
	starts int
	// cpuDone is the CPU time of its runs that ended.
	cpuDone time.Duration
}

// restartDelay is how long the supervisor waits before starting a process
// that exited again, so a process that cannot start does not spin.
const restartDelay = time.Second

func newProcess(name, bin string, args, env []string, out io.Writer, note func(string)) *Process {
	return &Process{Name: name, bin: bin, args: args, env: env, out: out, note: note}
}

// run starts the process and keeps it running until stop.
func (p *Process) run() error {
	if err := p.start(); err != nil {
		return err
	}
	go p.supervise()
	return nil
}

func (p *Process) start() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env, cmd.Stdout, cmd.Stderr = p.env, p.out, p.out
	// Its own process group: a Ctrl-C to make reaches the stack, which
	// stops its processes in order.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("starting %s: %w", p.Name, err)
	}
	p.cmd, p.exited = cmd, make(chan struct{})
	p.starts++
	return nil
}

func (p *Process) supervise() {
	for {
		p.mu.Lock()
		cmd, exited := p.cmd, p.exited
		p.mu.Unlock()
		err := cmd.Wait()
		p.mu.Lock()
		if st := cmd.ProcessState; st != nil {
			p.cpuDone += st.UserTime() + st.SystemTime()
		}
		close(exited)
		stop, paused := p.stopping, p.paused
		p.mu.Unlock()
		if stop || paused {
			return
		}
		p.note(fmt.Sprintf("%s exited (%v); restarting it", p.Name, errOrStatus(err, cmd)))
		for {
			time.Sleep(restartDelay)
			p.mu.Lock()
			stop = p.stopping || p.paused
			p.mu.Unlock()
			if stop {
				return
			}
			if err := p.start(); err != nil {
				p.note(err.Error())
				continue
			}
			break
		}
	}
}

func errOrStatus(err error, cmd *exec.Cmd) string {
	if cmd.ProcessState != nil {
		return cmd.ProcessState.String()
	}
	return err.Error()
}

// Signal sends sig to the running process; the supervisor restarts it
// once it exits.
func (p *Process) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return fmt.Errorf("%s is not running", p.Name)
	}
	return p.cmd.Process.Signal(sig)
}

// Pid is the running process's id.
func (p *Process) Pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// Starts is how often the process was started, restarts included.
func (p *Process) Starts() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.starts
}

// CPU is the CPU time of every run of the process so far.
func (p *Process) CPU() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	cpu := p.cpuDone
	select {
	case <-p.exited:
	default:
		if p.cmd != nil && p.cmd.Process != nil {
			cpu += ProcCPU(p.cmd.Process.Pid)
		}
	}
	return cpu
}

// Pause stops the process and keeps it stopped until Resume (for the
// scale-out runs, which compare one worker with two).
func (p *Process) Pause() {
	p.mu.Lock()
	p.paused = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	_ = cmd.Process.Signal(syscall.SIGTERM)
	<-exited
}

// Resume starts a paused process again under the supervisor.
func (p *Process) Resume() error {
	p.mu.Lock()
	p.paused = false
	p.mu.Unlock()
	return p.run()
}

// stop ends the process for good: SIGTERM, then SIGKILL after 10 s.
func (p *Process) stop() {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	select {
	case <-exited:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// ProcCPU is the user and system CPU time a live process has used, from
// /proc/<pid>/stat (0 when it is gone).
func ProcCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The command name may hold spaces; the fields after it are fixed.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / 100 // USER_HZ is 100 on Linux
}
