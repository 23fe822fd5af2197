package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"dealflow/deal"
	"dealflow/workflows"
)

// Ask the AE from the deal page. The person signed in through the firm's
// SSO acts as their Slack user (matched by email, slackUserOf), so the
// deal's rules apply to them as to a Slack click: the PM or the GM asks,
// the AE answers. The dashboard token is no one, and cannot ask.

// askPage takes a question. The form carries a question id made when the
// page was drawn, so sending the form twice records one question.
func (s *Server) askPage(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(r, "deal_id")
	if !ok {
		s.noSuchDeal(w)
		return
	}
	by, ok := s.pagePerson(w, r, "ask the AE")
	if !ok {
		return
	}
	payload, _ := json.Marshal(map[string]string{"id": r.PostFormValue("question_id"), "by": by, "text": r.PostFormValue("text")})
	s.sendFromPage(w, r, id, deal.SigQuestion, payload)
}

// answerPage takes the AE's answer to one question.
func (s *Server) answerPage(w http.ResponseWriter, r *http.Request) {
	id, okID := pathID(r, "deal_id")
	qid, okQ := pathID(r, "question_id")
	if !okID || !okQ {
		s.noSuchDeal(w)
		return
	}
	by, ok := s.pagePerson(w, r, "answer")
	if !ok {
		return
	}
	payload, _ := json.Marshal(map[string]string{"question_id": qid, "by": by, "text": r.PostFormValue("text")})
	s.sendFromPage(w, r, id, deal.SigAnswer, payload)
}

// pagePerson is the Slack user of the person signed in, or a 403 saying
// why there is none.
func (s *Server) pagePerson(w http.ResponseWriter, r *http.Request, what string) (string, bool) {
	email := actorOf(r).person
	if email == "" {
		s.errorPage(w, http.StatusForbidden, "to "+what+" sign in as yourself through the firm's SSO: the dashboard token is no one")
		return "", false
	}
	by, err := s.slackUserOf(r.Context(), email)
	if err != nil {
		s.errorPage(w, http.StatusForbidden, fmt.Sprintf("%s cannot %s here: %v", email, what, err))
		return "", false
	}
	return by, true
}

// sendFromPage sends one signal and answers as the deal page does: back to
// the questions when taken or a repeat, the rules' reason when refused.
func (s *Server) sendFromPage(w http.ResponseWriter, r *http.Request, dealID, signal string, payload []byte) {
	res, err := workflows.Send(r.Context(), s.Client, dealID, signal, payload)
	switch {
	case errors.Is(err, workflows.ErrUnknownDeal):
		s.errorPage(w, http.StatusNotFound, fmt.Sprintf("no open deal %q", dealID))
	case err != nil:
		s.serverError(w, "sending "+signal+" from the deal page", err)
	case res.Status == deal.Refused:
		s.errorPage(w, http.StatusUnprocessableEntity, "not taken: "+res.Reason)
	default:
		s.log.Info("deal page: "+signal, "deal", dealID, "by", actorOf(r).String(), "status", res.Status)
		http.Redirect(w, r, dealPath(dealID)+"#questions", http.StatusSeeOther)
	}
}

// newQuestionID names a question the page is about to ask.
func newQuestionID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "q-" + hex.EncodeToString(b)
}
