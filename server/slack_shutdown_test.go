package server

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"dealflow/activities"
	"dealflow/activities/slackfake"
	"dealflow/deal/dealtest"
)

// TestSocketModeStopAppliesEveryAcknowledgedClick: Stop takes no more
// Socket Mode events before it drains, so every click acknowledged to Slack
// is applied (its modal opens), and clicks arriving while it stops are
// left unacknowledged for Slack to send again, never acknowledged and
// dropped.
func TestSocketModeStopAppliesEveryAcknowledgedClick(t *testing.T) {
	s, fake, sock := socketServer(t)
	openDeal(t, s, dealtest.Terms("sl-socket-stop", time.Now()))
	msg := slackTicketMessage(t, fake, "discovery", activities.ActionApprove)
	b, _ := slackfake.FindButton(msg.Blocks, activities.ActionApprove)
	click := func(n int) {
		sock.SendInteractive(fmt.Sprintf("env-%d", n), slackfake.BlockActions(dealtest.Presales, msg.Channel, msg.TS,
			fmt.Sprintf("trigger-%d", n), b, fmt.Sprintf("1700000100.%06d", n)))
	}

	// The first click's modal opens slowly, so Stop has a click to wait for.
	fake.Outage("views.open", slackfake.Fault{Delay: 2 * time.Second, Taken: true})
	click(1)
	if a := nextAck(t, sock); a.EnvelopeID != "env-1" {
		t.Fatalf("ack for %q, want env-1", a.EnvelopeID)
	}
	dealtest.Eventually(t, "the first modal to be on its way", func() bool { return fake.FaultsServed() > 0 })

	// Clicks sent once Stop no longer takes events must not be acknowledged.
	notTaking := make(chan struct{})
	var once sync.Once // the test's cleanup stops the server again
	s.slack.stoppedTaking = func() { once.Do(func() { close(notTaking) }) }
	stopped := make(chan struct{})
	go func() { s.Stop(); close(stopped) }()
	<-notTaking
	for n := 2; n <= 4; n++ {
		click(n)
	}
	<-stopped

	acked := map[string]bool{"trigger-1": true}
	for done := false; !done; {
		select {
		case a := <-sock.Acks():
			acked["trigger-"+a.EnvelopeID[len("env-"):]] = true
		default:
			done = true
		}
	}
	opened := map[string]bool{}
	for _, c := range fake.Calls("views.open") {
		opened[c.TriggerID] = true
	}
	for trigger := range acked {
		if !opened[trigger] {
			t.Errorf("click %s was acknowledged but its modal never opened", trigger)
		}
	}
	if len(acked) != 1 {
		t.Errorf("acknowledged %v while stopping; only the click taken before Stop should be", acked)
	}
}
