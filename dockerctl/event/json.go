package event

import "encoding/json"

// MarshalJSON writes the event with its Duration as "seconds" (and, for a
// sync, "ms"), the JSON output's stable field names.
func (e Event) MarshalJSON() ([]byte, error) {
	type plain Event // no methods: no recursion
	out := struct {
		plain
		Seconds float64 `json:"seconds,omitempty"`
		Ms      float64 `json:"ms,omitempty"`
	}{plain: plain(e)}
	if e.Duration > 0 {
		out.Seconds = e.Duration.Seconds()
		if e.Kind == Sync {
			out.Ms = float64(e.Duration.Microseconds()) / 1000
		}
	}
	return json.Marshal(out)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	in := struct {
		*plain
		Seconds float64 `json:"seconds"`
	}{plain: (*plain)(e)}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	e.Duration = seconds(in.Seconds)
	return nil
}
