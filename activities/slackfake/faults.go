package slackfake

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"time"
)

// Fault is one way a Web API call can go wrong, for tests of what dealflow
// does while Slack is down or slow.
type Fault struct {
	// Status answers the call with this HTTP status and takes nothing
	// (500, 503); 429 comes with RetryAfter seconds in Retry-After.
	Status     int
	RetryAfter int
	// Delay holds the answer back. With Taken the call takes effect at
	// once and only its answer is late: Slack took the post, but the
	// client gave up before hearing so. Without Taken nothing is taken and
	// the answer, if anyone still waits, is 504.
	Delay time.Duration
	Taken bool
}

// Outage makes the calls of method meet faults, each call the next fault of
// the cycle, round and round, until Recover. Calls refused by a fault are
// not listed by Calls.
func (s *Server) Outage(method string, cycle ...Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outages == nil {
		s.outages = map[string]*outage{}
	}
	s.outages[method] = &outage{cycle: cycle}
}

// Recover ends the outage of method (of every method when empty).
func (s *Server) Recover(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if method == "" {
		s.outages = nil
		return
	}
	delete(s.outages, method)
}

// FaultsServed is how many calls met a fault so far, for waiting until an
// outage has been felt.
func (s *Server) FaultsServed() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.faultsServed
}

type outage struct {
	cycle []Fault
	next  int
}

// fault picks the fault the next call of method meets, if any. Called with
// s.mu held.
func (s *Server) fault(method string) (Fault, bool) {
	o := s.outages[method]
	if o == nil || len(o.cycle) == 0 {
		return Fault{}, false
	}
	f := o.cycle[o.next%len(o.cycle)]
	o.next++
	s.faultsServed++
	return f, true
}

// serveFault answers a call that met f. take runs the call for real and
// writes its answer to the recorder given.
func serveFault(w http.ResponseWriter, r *http.Request, f Fault, take func(http.ResponseWriter)) {
	if f.Status != 0 {
		if f.Status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
		}
		w.WriteHeader(f.Status)
		return
	}
	var late *httptest.ResponseRecorder
	if f.Taken {
		late = httptest.NewRecorder()
		take(late)
	}
	t := time.NewTimer(f.Delay)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	if late == nil {
		w.WriteHeader(http.StatusGatewayTimeout)
		return
	}
	for k, v := range late.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(late.Code)
	_, _ = w.Write(late.Body.Bytes())
}
