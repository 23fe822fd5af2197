package deal

// Names maps Slack user ids to people's names, as Slack last gave them. The
// record keeps ids; names are only for showing, and an id without a name
// shows as the id.
type Names map[string]string

// Show is how a person appears on pages, in reports and in the Temporal UI:
// "Ana Alvarez (U_AE_ANA)", keeping the id beside the name so filters,
// searches and the record stay findable; the bare id when no name is known.
func (n Names) Show(id string) string {
	if name := n[id]; name != "" && name != id {
		return name + " (" + id + ")"
	}
	return id
}
