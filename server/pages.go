package server

import "net/http"

// mountPages serves the deal pages and the early-warning report.
func (s *Server) mountPages(mux *http.ServeMux) {}
