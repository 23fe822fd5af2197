package server

import "net/http"

// mountIntake serves finance's invoice intake (see the margin issue).
func (s *Server) mountIntake(mux *http.ServeMux) {}
