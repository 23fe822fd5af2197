package server

import (
	"net/http"
	"strings"
	"unicode/utf8"
)

// maxPathID bounds an id read from a URL path. A deal's id is part of its
// workflow id, and Temporal refuses workflow ids over 1,000 bytes, so no
// deal (nor link, ticket or job, whose ids are shorter) has a longer one.
const maxPathID = 1000

// pathID reads an id from the request's path and says whether anything
// could have it. PostgreSQL text holds neither NUL nor invalid UTF-8, so
// such an id would fail the query (a 500) instead of finding nothing; and a
// huge one is refused before it costs a query. The mux has unescaped the
// segment already, so an id with '?', '#', '/' or '%' arrives whole.
func pathID(r *http.Request, name string) (string, bool) {
	id := r.PathValue(name)
	ok := id != "" && len(id) <= maxPathID && utf8.ValidString(id) && !strings.ContainsRune(id, 0)
	return id, ok
}
