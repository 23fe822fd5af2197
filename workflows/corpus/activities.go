package corpus

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
)

// CheckActivityInputs decodes the input of every activity the history
// scheduled into today's parameter types of that activity, strictly: an
// unknown field, a missing or extra argument, or a value of another type
// is an error. Replay alone does not see this (the SDK compares only an
// activity's type and id), yet a worker deployed while an activity is
// scheduled or retrying runs today's activity on the recorded input.
// activities are the structs registered on the worker (their exported
// methods are the activities, by method name).
func CheckActivityInputs(h *historypb.History, activities ...any) []error {
	methods := map[string]reflect.Type{}
	for _, a := range activities {
		t := reflect.TypeOf(a)
		for i := range t.NumMethod() {
			methods[t.Method(i).Name] = t.Method(i).Type
		}
	}
	ctxType := reflect.TypeOf((*context.Context)(nil)).Elem()
	var errs []error
	for _, ev := range h.Events {
		if ev.EventType != enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED {
			continue
		}
		attrs := ev.GetActivityTaskScheduledEventAttributes()
		name := attrs.GetActivityType().GetName()
		m, ok := methods[name]
		if !ok {
			errs = append(errs, fmt.Errorf("event %d schedules activity %s, which no longer exists", ev.EventId, name))
			continue
		}
		var params []reflect.Type
		for i := 1; i < m.NumIn(); i++ { // In(0) is the receiver
			if i == 1 && m.In(i).Implements(ctxType) {
				continue
			}
			params = append(params, m.In(i))
		}
		args := attrs.GetInput().GetPayloads()
		if len(args) != len(params) {
			errs = append(errs, fmt.Errorf("event %d calls %s with %d argument(s); today it takes %d", ev.EventId, name, len(args), len(params)))
			continue
		}
		for i, p := range args {
			if string(p.GetMetadata()["encoding"]) != "json/plain" {
				continue
			}
			dec := json.NewDecoder(bytes.NewReader(p.GetData()))
			dec.DisallowUnknownFields()
			if err := dec.Decode(reflect.New(params[i]).Interface()); err != nil {
				errs = append(errs, fmt.Errorf("event %d: argument %d of %s no longer decodes into %s: %v", ev.EventId, i+1, name, params[i], err))
			}
		}
	}
	return errs
}
