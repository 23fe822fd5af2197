package server

import "net/http"

// mountSlack serves Slack's interactivity requests (see the Slack issue).
func (s *Server) mountSlack(mux *http.ServeMux) {}
