// Package hubspottest is HubSpot as dealflow's tests see it: a fake of the
// API parts the bridge uses, as strict as HubSpot's documented limits (a
// bearer token on every call, the burst limit with 429 and Retry-After, the
// daily quota, batches of at most 100, unknown or wrongly typed properties
// refused with 400 VALIDATION_ERROR), keeping the deals and notes it was
// given, and a webhook sender that signs its calls (v3), retries failed
// calls with the same eventId and can deliver out of order or twice.
// Tests only: the worker never links it.
package hubspottest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"

	"dealflow/hubspot"
)

// Property is a deal property as the properties API describes it.
type Property struct {
	Name      string   `json:"name"`
	Label     string   `json:"label"`
	Type      string   `json:"type"`
	FieldType string   `json:"fieldType"`
	GroupName string   `json:"groupName"`
	Options   []Option `json:"options,omitempty"`
}

type Option struct {
	Label string `json:"label"`
	Value string `json:"value"`
}

// Note is a timeline note and the deal it is on.
type Note struct {
	ID     string
	DealID string
	Body   string
}

// Event is a webhook event the fake has to deliver.
type Event = hubspot.Event

// Server is the fake API.
type Server struct {
	*httptest.Server
	Token string
	// Burst requests per BurstEvery; DailyLimit a day.
	Burst      int
	BurstEvery time.Duration
	DailyLimit int
	// AppID is the private app: writes through its token come back as
	// webhook events with changeSource INTEGRATION and this sourceId.
	AppID    int64
	PortalID int64

	mu         sync.Mutex
	sent       []time.Time
	today      int
	calls      map[string]int
	refused    map[string]int
	down       bool
	props      map[string]Property
	groups     map[string]bool
	stages     []string
	deals      map[string]map[string]string
	companies  map[string]string // deal id -> company id
	companyNms map[string]string
	owners     map[string]ownerRec
	notes      []Note
	seq        int64
	hook       *sender
}

type ownerRec struct {
	Email  string
	UserID int64
}

// dealIDs numbers deals across every fake of a test process: tests share
// one Temporal server, where deal ids must not meet.
var dealIDs atomic.Int64

func init() { dealIDs.Store(9000) }

// HubSpot's own deal properties that the bridge reads or writes.
var builtIn = []Property{
	{Name: "dealname", Type: "string", FieldType: "text", GroupName: "dealinformation"},
	{Name: "amount", Type: "number", FieldType: "number", GroupName: "dealinformation"},
	{Name: "deal_currency_code", Type: "enumeration", FieldType: "select", GroupName: "dealinformation",
		Options: []Option{{"Euro", "EUR"}, {"US Dollar", "USD"}, {"Pound", "GBP"}}},
	{Name: "closedate", Type: "datetime", FieldType: "date", GroupName: "dealinformation"},
	{Name: "dealstage", Type: "enumeration", FieldType: "radio", GroupName: "dealinformation"},
	{Name: "pipeline", Type: "enumeration", FieldType: "select", GroupName: "dealinformation", Options: []Option{{"Sales Pipeline", "default"}}},
	{Name: "hubspot_owner_id", Type: "enumeration", FieldType: "select", GroupName: "dealinformation"},
}

// New starts a fake with HubSpot's Free/Starter limits and a pipeline of
// the given stage ids.
func New(token string, stages ...string) *Server {
	s := &Server{Token: token, Burst: hubspot.DefaultBurst, BurstEvery: hubspot.DefaultBurstEvery, DailyLimit: hubspot.DefaultDailyLimit,
		AppID: 4242, PortalID: 777, calls: map[string]int{}, refused: map[string]int{}, props: map[string]Property{},
		groups: map[string]bool{"dealinformation": true}, stages: stages, deals: map[string]map[string]string{},
		companies: map[string]string{}, companyNms: map[string]string{}, owners: map[string]ownerRec{}}
	for _, p := range builtIn {
		s.props[p.Name] = p
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Calls is how many calls of a kind were answered (kind "" for all):
// "batch_update", "get_deal", "note", "owner", "company", "properties",
// "pipelines".
func (s *Server) Calls(kind string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if kind == "" {
		n := 0
		for _, c := range s.calls {
			n += c
		}
		return n
	}
	return s.calls[kind]
}

// Refused is how many calls were answered with an error status, by status
// ("429", "400", "401", "404", "503").
func (s *Server) Refused(status string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refused[status]
}

// SetBurst sets the burst limit and starts its window afresh.
func (s *Server) SetBurst(n int, every time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.Burst, s.BurstEvery, s.sent = n, every, nil
}

// Showing counts the deals whose property has the value.
func (s *Server) Showing(prop, value string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, d := range s.deals {
		if d[prop] == value {
			n++
		}
	}
	return n
}

// Down makes every call answer 503 (an outage) until Down(false).
func (s *Server) Down(down bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = down
}

// AddOwner makes an owner (owner id) for a HubSpot user with an email.
func (s *Server) AddOwner(ownerID string, userID int64, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.owners[ownerID] = ownerRec{Email: email, UserID: userID}
}

// AddCompany makes a company.
func (s *Server) AddCompany(id, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.companyNms[id] = name
}

// Deal is a copy of a deal's properties.
func (s *Server) Deal(id string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]string{}
	for k, v := range s.deals[id] {
		out[k] = v
	}
	return out
}

// Notes lists the notes on a deal, oldest first.
func (s *Server) Notes(dealID string) []Note {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Note
	for _, n := range s.notes {
		if n.DealID == dealID {
			out = append(out, n)
		}
	}
	return out
}

// Property is a deal property as defined now, if it is.
func (s *Server) Property(name string) (Property, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.props[name]
	return p, ok
}

// CreateDeal makes a deal as a user does in HubSpot's UI, associated with
// a company, and sends its webhook events.
func (s *Server) CreateDeal(userID int64, companyID string, props map[string]string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.check(props); err != nil {
		return "", err
	}
	id := strconv.FormatInt(dealIDs.Add(1), 10)
	s.deals[id] = map[string]string{}
	s.companies[id] = companyID
	s.emit(id, "deal.creation", "", "", "CRM_UI", fmt.Sprintf("userId:%d", userID))
	s.set(id, props, "CRM_UI", fmt.Sprintf("userId:%d", userID))
	return id, nil
}

// UserSets changes a deal's properties as a user does in the UI (source
// "CRM_UI", "userId:<id>") or as something else does (changeSource
// AUTOMATION, IMPORT... with sourceID), and sends the webhook events.
func (s *Server) UserSets(dealID, changeSource, sourceID string, props map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.deals[dealID] == nil {
		return fmt.Errorf("no deal %s", dealID)
	}
	if err := s.check(props); err != nil {
		return err
	}
	s.set(dealID, props, changeSource, sourceID)
	return nil
}

// set stores properties and emits a propertyChange for each that changed,
// in name order.
func (s *Server) set(id string, props map[string]string, source, sourceID string) {
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range props {
			if !yield(k) {
				return
			}
		}
	}) {
		if s.deals[id][k] == props[k] {
			continue
		}
		s.deals[id][k] = props[k]
		s.emit(id, "deal.propertyChange", k, props[k], source, sourceID)
	}
}

// check refuses properties as HubSpot does: unknown ones, values not of
// their type, options a property does not have. Holds s.mu.
func (s *Server) check(props map[string]string) *apiError {
	var bad []map[string]any
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range props {
			if !yield(k) {
				return
			}
		}
	}) {
		v := props[k]
		p, ok := s.props[k]
		if !ok {
			bad = append(bad, map[string]any{"isValid": false, "message": fmt.Sprintf("Property %q does not exist", k), "error": "PROPERTY_DOESNT_EXIST", "name": k})
			continue
		}
		if code, msg := s.valid(p, v); code != "" {
			bad = append(bad, map[string]any{"isValid": false, "message": msg, "error": code, "name": k})
		}
	}
	if len(bad) == 0 {
		return nil
	}
	b, _ := json.Marshal(bad)
	return &apiError{400, "VALIDATION_ERROR", "Property values were not valid: " + string(b)}
}

func (s *Server) valid(p Property, v string) (string, string) {
	if v == "" {
		return "", "" // clears the value
	}
	switch p.Type {
	case "number":
		if _, err := decimal.NewFromString(v); err != nil {
			return "INVALID_DECIMAL", fmt.Sprintf("%s was not a valid number.", v)
		}
	case "date":
		if _, err := time.Parse(time.DateOnly, v); err == nil {
			return "", ""
		}
		if ms, err := strconv.ParseInt(v, 10, 64); err != nil || ms%(24*3600*1000) != 0 {
			return "INVALID_DATE", fmt.Sprintf("%s is not a valid date (YYYY-MM-DD, or midnight UTC in milliseconds).", v)
		}
	case "datetime":
		if _, err := time.Parse(time.RFC3339Nano, v); err == nil {
			return "", ""
		}
		if _, err := time.Parse(time.DateOnly, v); err == nil {
			return "", ""
		}
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return "INVALID_DATETIME", fmt.Sprintf("%s is not a valid datetime.", v)
		}
	case "bool":
		if v != "true" && v != "false" {
			return "INVALID_BOOLEAN", fmt.Sprintf("%s is not true or false.", v)
		}
	case "enumeration":
		allowed := map[string]bool{}
		for _, o := range p.Options {
			allowed[o.Value] = true
		}
		switch p.Name {
		case "dealstage":
			for _, st := range s.stages {
				allowed[st] = true
			}
		case "hubspot_owner_id":
			for id := range s.owners {
				allowed[id] = true
			}
		}
		for _, part := range strings.Split(v, ";") {
			if !allowed[part] {
				return "INVALID_OPTION", fmt.Sprintf("%s was not one of the allowed options: %v", part, slices.Sorted(func(yield func(string) bool) {
					for k := range allowed {
						if !yield(k) {
							return
						}
					}
				}))
			}
		}
	case "string":
		if len(v) > 65536 {
			return "INVALID_STRING", "value is longer than 65536 characters"
		}
	}
	return "", ""
}

type apiError struct {
	status   int
	category string
	message  string
}

func (s *Server) fail(w http.ResponseWriter, e *apiError) {
	s.refused[strconv.Itoa(e.status)]++
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.status)
	_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "message": e.message,
		"correlationId": fmt.Sprintf("fake-%d", s.refused[strconv.Itoa(e.status)]), "category": e.category})
}

func (s *Server) ok(w http.ResponseWriter, kind string, status int, v any) {
	s.calls[kind]++
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-HubSpot-RateLimit-Daily", strconv.Itoa(s.DailyLimit))
	w.Header().Set("X-HubSpot-RateLimit-Daily-Remaining", strconv.Itoa(s.DailyLimit-s.today))
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

// limited answers 429 when the call is over the burst limit or the day's
// quota; a refused call is not counted against them.
func (s *Server) limited(w http.ResponseWriter) bool {
	now := time.Now()
	for len(s.sent) > 0 && now.Sub(s.sent[0]) >= s.BurstEvery {
		s.sent = s.sent[1:]
	}
	if s.today >= s.DailyLimit {
		s.refused["429"]++
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "RATE_LIMIT", "policyName": "DAILY",
			"message": "You have reached your daily limit."})
		return true
	}
	if len(s.sent) >= s.Burst {
		wait := s.sent[0].Add(s.BurstEvery).Sub(now)
		s.refused["429"]++
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusTooManyRequests)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "error", "errorType": "RATE_LIMIT", "policyName": "TEN_SECONDLY_ROLLING",
			"message": "You have reached your ten_secondly_rolling limit."})
		return true
	}
	s.sent = append(s.sent, now)
	s.today++
	return false
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer "+s.Token || s.Token == "" {
		s.fail(w, &apiError{401, "INVALID_AUTHENTICATION", "Authentication credentials not found."})
		return
	}
	if s.down {
		s.fail(w, &apiError{503, "SERVICE_UNAVAILABLE", "HubSpot is unavailable (the test's outage)."})
		return
	}
	if s.limited(w) {
		return
	}
	var body []byte
	if r.Body != nil {
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(r.Body)
		body = buf.Bytes()
	}
	path := r.URL.Path
	switch {
	case r.Method == http.MethodPost && path == "/crm/v3/objects/deals/batch/update":
		s.batchUpdate(w, body)
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/crm/v3/objects/deals/"):
		s.getDeal(w, r, strings.TrimPrefix(path, "/crm/v3/objects/deals/"))
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/crm/v3/objects/companies/"):
		id := strings.TrimPrefix(path, "/crm/v3/objects/companies/")
		name, ok := s.companyNms[id]
		if !ok {
			s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "Object not found. objectId are usually numeric."})
			return
		}
		s.ok(w, "company", 200, map[string]any{"id": id, "properties": map[string]any{"name": name}})
	case r.Method == http.MethodGet && strings.HasPrefix(path, "/crm/v3/owners/"):
		id := strings.TrimPrefix(path, "/crm/v3/owners/")
		o, ok := s.owners[id]
		if !ok {
			s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "Owner not found."})
			return
		}
		s.ok(w, "owner", 200, map[string]any{"id": id, "email": o.Email, "userId": o.UserID, "type": "PERSON"})
	case r.Method == http.MethodPost && path == "/crm/v3/objects/notes":
		s.addNote(w, body)
	case strings.HasPrefix(path, "/crm/v3/properties/deals"):
		s.properties(w, r, body)
	case r.Method == http.MethodGet && path == "/crm/v3/pipelines/deals":
		var st []any
		for i, id := range s.stages {
			st = append(st, map[string]any{"id": id, "label": id, "displayOrder": i})
		}
		s.ok(w, "pipelines", 200, map[string]any{"results": []any{map[string]any{"id": "default", "label": "Sales Pipeline", "stages": st}}})
	default:
		s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "No route " + r.Method + " " + path})
	}
}

func (s *Server) getDeal(w http.ResponseWriter, r *http.Request, id string) {
	d, ok := s.deals[id]
	if !ok {
		s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "Object not found. objectId are usually numeric."})
		return
	}
	props := map[string]any{"hs_object_id": id}
	for _, name := range strings.Split(r.URL.Query().Get("properties"), ",") {
		if _, known := s.props[name]; !known {
			continue // HubSpot leaves out properties that do not exist
		}
		if v, set := d[name]; set && v != "" {
			props[name] = v
		} else {
			props[name] = nil
		}
	}
	out := map[string]any{"id": id, "properties": props, "archived": false}
	if slices.Contains(strings.Split(r.URL.Query().Get("associations"), ","), "companies") && s.companies[id] != "" {
		out["associations"] = map[string]any{"companies": map[string]any{"results": []any{
			map[string]any{"id": s.companies[id], "type": "deal_to_company"}}}}
	}
	s.ok(w, "get_deal", 200, out)
}

func (s *Server) batchUpdate(w http.ResponseWriter, body []byte) {
	var in struct {
		Inputs []struct {
			ID         string            `json:"id"`
			Properties map[string]string `json:"properties"`
		} `json:"inputs"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.fail(w, &apiError{400, "VALIDATION_ERROR", "Invalid input JSON: " + err.Error()})
		return
	}
	if len(in.Inputs) > hubspot.MaxBatch {
		s.fail(w, &apiError{400, "VALIDATION_ERROR", fmt.Sprintf("Batch input cannot exceed %d inputs, got %d", hubspot.MaxBatch, len(in.Inputs))})
		return
	}
	seen := map[string]bool{}
	for _, x := range in.Inputs {
		if s.deals[x.ID] == nil {
			s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "Could not find deal " + x.ID})
			return
		}
		if seen[x.ID] {
			s.fail(w, &apiError{400, "VALIDATION_ERROR", "Duplicate IDs found in batch input: " + x.ID})
			return
		}
		seen[x.ID] = true
		if err := s.check(x.Properties); err != nil {
			s.fail(w, err)
			return
		}
	}
	var results []any
	for _, x := range in.Inputs {
		s.set(x.ID, x.Properties, "INTEGRATION", strconv.FormatInt(s.AppID, 10))
		results = append(results, map[string]any{"id": x.ID, "properties": x.Properties})
	}
	s.ok(w, "batch_update", 200, map[string]any{"status": "COMPLETE", "results": results})
}

func (s *Server) addNote(w http.ResponseWriter, body []byte) {
	var in struct {
		Properties   map[string]string `json:"properties"`
		Associations []struct {
			To struct {
				ID string `json:"id"`
			} `json:"to"`
			Types []struct {
				Category string `json:"associationCategory"`
				TypeID   int    `json:"associationTypeId"`
			} `json:"types"`
		} `json:"associations"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		s.fail(w, &apiError{400, "VALIDATION_ERROR", "Invalid input JSON: " + err.Error()})
		return
	}
	if in.Properties["hs_timestamp"] == "" {
		s.fail(w, &apiError{400, "VALIDATION_ERROR", "Property values were not valid: hs_timestamp is required"})
		return
	}
	if len(in.Associations) != 1 || len(in.Associations[0].Types) != 1 || in.Associations[0].Types[0].TypeID != hubspot.NoteToDeal ||
		in.Associations[0].Types[0].Category != "HUBSPOT_DEFINED" || s.deals[in.Associations[0].To.ID] == nil {
		s.fail(w, &apiError{400, "VALIDATION_ERROR", "a note here is associated with one existing deal (HUBSPOT_DEFINED type 214)"})
		return
	}
	s.seq++
	n := Note{ID: strconv.FormatInt(50000+s.seq, 10), DealID: in.Associations[0].To.ID, Body: in.Properties["hs_note_body"]}
	s.notes = append(s.notes, n)
	s.ok(w, "note", 201, map[string]any{"id": n.ID, "properties": in.Properties})
}

func (s *Server) properties(w http.ResponseWriter, r *http.Request, body []byte) {
	rest := strings.TrimPrefix(r.URL.Path, "/crm/v3/properties/deals")
	switch {
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/groups/"):
		name := strings.TrimPrefix(rest, "/groups/")
		if !s.groups[name] {
			s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "Unable to find property group " + name})
			return
		}
		s.ok(w, "properties", 200, map[string]any{"name": name, "label": name})
	case r.Method == http.MethodPost && rest == "/groups":
		var g struct {
			Name  string `json:"name"`
			Label string `json:"label"`
		}
		if err := json.Unmarshal(body, &g); err != nil || g.Name == "" || g.Label == "" {
			s.fail(w, &apiError{400, "VALIDATION_ERROR", "a property group needs name and label"})
			return
		}
		if s.groups[g.Name] {
			s.fail(w, &apiError{409, "OBJECT_ALREADY_EXISTS", "A property group named " + g.Name + " already exists."})
			return
		}
		s.groups[g.Name] = true
		s.ok(w, "properties", 201, g)
	case r.Method == http.MethodGet && strings.HasPrefix(rest, "/"):
		p, ok := s.props[strings.TrimPrefix(rest, "/")]
		if !ok {
			s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "Unable to find property " + strings.TrimPrefix(rest, "/")})
			return
		}
		s.ok(w, "properties", 200, p)
	case r.Method == http.MethodPost && rest == "":
		var p Property
		if err := json.Unmarshal(body, &p); err != nil {
			s.fail(w, &apiError{400, "VALIDATION_ERROR", "Invalid input JSON: " + err.Error()})
			return
		}
		if msg := validDefinition(p, s.groups); msg != "" {
			s.fail(w, &apiError{400, "VALIDATION_ERROR", msg})
			return
		}
		if _, ok := s.props[p.Name]; ok {
			s.fail(w, &apiError{409, "OBJECT_ALREADY_EXISTS", "A property named " + p.Name + " already exists."})
			return
		}
		s.props[p.Name] = p
		s.ok(w, "properties", 201, p)
	default:
		s.fail(w, &apiError{404, "OBJECT_NOT_FOUND", "No route " + r.Method + " " + r.URL.Path})
	}
}

// validDefinition checks a new property the way HubSpot's properties API
// does: a name, a label, a known group, and a field type its type allows.
func validDefinition(p Property, groups map[string]bool) string {
	fields := map[string][]string{
		"string": {"text", "textarea", "html", "phonenumber", "file"}, "number": {"number"}, "date": {"date"},
		"datetime": {"date"}, "bool": {"booleancheckbox"}, "enumeration": {"select", "radio", "checkbox", "booleancheckbox"},
	}
	switch {
	case p.Name == "" || p.Label == "":
		return "a property needs name and label"
	case strings.ToLower(p.Name) != p.Name || strings.ContainsAny(p.Name, " -"):
		return "a property's name is lower case letters, digits and underscores"
	case !groups[p.GroupName]:
		return fmt.Sprintf("Property group %q does not exist", p.GroupName)
	case fields[p.Type] == nil:
		return fmt.Sprintf("%q is not a property type", p.Type)
	case !slices.Contains(fields[p.Type], p.FieldType):
		return fmt.Sprintf("fieldType %q does not go with type %q", p.FieldType, p.Type)
	case p.Type == "enumeration" && len(p.Options) == 0:
		return "an enumeration property needs options"
	}
	return ""
}

func (e *apiError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.category, e.message) }
