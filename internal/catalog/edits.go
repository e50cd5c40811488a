package catalog

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Custom field types.
const (
	FieldString  = "string"
	FieldNumber  = "number"
	FieldDate    = "date"
	FieldBoolean = "boolean"
	FieldEnum    = "enum"
)

// ProjectField is one named, typed field of a project's schema.
type ProjectField struct {
	Name    string   `json:"name"`
	Type    string   `json:"type"`
	Choices []string `json:"choices,omitempty"` // enum only
}

// FieldError is a value a field cannot take; it wraps ErrInvalid and
// names the field.
type FieldError struct {
	Field, Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("field %q: %s", e.Field, e.Reason) }
func (e *FieldError) Unwrap() error { return ErrInvalid }

var fieldName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,63}$`)

// SetProjectFields replaces a project's custom field schema. Values of
// fields it drops stay stored (and shown) but are no longer editable.
func SetProjectFields(ctx context.Context, q Querier, project string, fields []ProjectField) error {
	seen := map[string]bool{}
	for _, f := range fields {
		if !fieldName.MatchString(f.Name) {
			return &FieldError{Field: f.Name, Reason: "a name is a letter then letters, digits or _ (at most 64)"}
		}
		if seen[f.Name] {
			return &FieldError{Field: f.Name, Reason: "named twice"}
		}
		seen[f.Name] = true
		switch f.Type {
		case FieldString, FieldNumber, FieldDate, FieldBoolean:
			if len(f.Choices) > 0 {
				return &FieldError{Field: f.Name, Reason: "only an enum has choices"}
			}
		case FieldEnum:
			if len(f.Choices) == 0 {
				return &FieldError{Field: f.Name, Reason: "an enum needs choices"}
			}
		default:
			return &FieldError{Field: f.Name, Reason: "type is string, number, date, boolean or enum"}
		}
	}
	if _, err := q.ExecContext(ctx, `DELETE FROM project_fields WHERE project = ?`, project); err != nil {
		return fmt.Errorf("catalog: set fields: %w", err)
	}
	for i, f := range fields {
		ch, _ := json.Marshal(append([]string{}, f.Choices...))
		if _, err := q.ExecContext(ctx, `INSERT INTO project_fields (project, name, type, choices, position)
			VALUES (?,?,?,?,?)`, project, f.Name, f.Type, string(ch), i); err != nil {
			return fmt.Errorf("catalog: set fields: %w", err)
		}
	}
	return nil
}

// ProjectFields returns a project's custom field schema in order.
func ProjectFields(ctx context.Context, q Querier, project string) ([]ProjectField, error) {
	rows, err := q.QueryContext(ctx, `SELECT name, type, choices FROM project_fields WHERE project = ? ORDER BY position`, project)
	if err != nil {
		return nil, fmt.Errorf("catalog: fields: %w", err)
	}
	defer rows.Close()
	out := []ProjectField{}
	for rows.Next() {
		var f ProjectField
		var ch string
		if err := rows.Scan(&f.Name, &f.Type, &ch); err != nil {
			return nil, fmt.Errorf("catalog: fields: %w", err)
		}
		_ = json.Unmarshal([]byte(ch), &f.Choices)
		if len(f.Choices) == 0 {
			f.Choices = nil
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// Change is one edited field: its old and new value (JSON; null when
// unset). Field is title, description, creator, rights, keywords or a
// custom field's name.
type Change struct {
	Field string          `json:"field"`
	Old   json.RawMessage `json:"old"`
	New   json.RawMessage `json:"new"`
}

// descriptiveEditable are the normalised fields a person may edit, with
// the assets column of each.
var descriptiveEditable = map[string]string{
	"title": "title", "description": "description", "creator": "creator", "rights": "rights", "keywords": "keywords",
}

// EditAsset sets edited values on an asset: the descriptive fields (a
// string, keywords a list of strings, null clears) and custom fields of
// the asset's project schema (null removes the value). It records one
// "edited" event per field that changed and returns the changes. Run it
// in a transaction.
func EditAsset(ctx context.Context, q Querier, a *Asset, desc map[string]json.RawMessage, custom map[string]json.RawMessage, actor, txid string) ([]Change, error) {
	var changes []Change
	now := micros(time.Now())
	for _, name := range sortedKeys(desc) {
		col, ok := descriptiveEditable[name]
		if !ok {
			return nil, &FieldError{Field: name, Reason: "not an editable field"}
		}
		val, stored, err := descriptiveValue(name, desc[name])
		if err != nil {
			return nil, err
		}
		var old sql.NullString
		if err := q.QueryRowContext(ctx, `SELECT `+col+` FROM assets WHERE id = ?`, a.ID).Scan(&old); err != nil {
			return nil, fmt.Errorf("catalog: edit: %w", err)
		}
		oldJSON := columnJSON(name, old)
		if _, err := q.ExecContext(ctx, `INSERT INTO asset_edits (asset_id, field, value, edited_at) VALUES (?,?,?,?)
			ON CONFLICT (asset_id, field) DO UPDATE SET value = excluded.value, edited_at = excluded.edited_at`,
			a.ID, name, string(val), now); err != nil {
			return nil, fmt.Errorf("catalog: edit: %w", err)
		}
		if bytes.Equal(oldJSON, val) {
			continue
		}
		if _, err := q.ExecContext(ctx, `UPDATE assets SET `+col+` = ?, updated_at = ? WHERE id = ?`, stored, now, a.ID); err != nil {
			return nil, fmt.Errorf("catalog: edit: %w", err)
		}
		changes = append(changes, Change{Field: name, Old: oldJSON, New: val})
	}
	if len(custom) > 0 {
		schema, err := ProjectFields(ctx, q, a.Project)
		if err != nil {
			return nil, err
		}
		for _, name := range sortedKeys(custom) {
			i := slices.IndexFunc(schema, func(f ProjectField) bool { return f.Name == name })
			if i < 0 {
				return nil, &FieldError{Field: name, Reason: "not a field of project " + a.Project}
			}
			val, err := checkValue(schema[i], custom[name])
			if err != nil {
				return nil, err
			}
			var oldS sql.NullString
			err = q.QueryRowContext(ctx, `SELECT value FROM asset_edits WHERE asset_id = ? AND field = ?`, a.ID, "custom:"+name).Scan(&oldS)
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return nil, fmt.Errorf("catalog: edit: %w", err)
			}
			old := json.RawMessage("null")
			if oldS.Valid {
				old = json.RawMessage(oldS.String)
			}
			if bytes.Equal(old, val) {
				continue
			}
			if string(val) == "null" {
				_, err = q.ExecContext(ctx, `DELETE FROM asset_edits WHERE asset_id = ? AND field = ?`, a.ID, "custom:"+name)
			} else {
				_, err = q.ExecContext(ctx, `INSERT INTO asset_edits (asset_id, field, value, edited_at) VALUES (?,?,?,?)
					ON CONFLICT (asset_id, field) DO UPDATE SET value = excluded.value, edited_at = excluded.edited_at`,
					a.ID, "custom:"+name, string(val), now)
			}
			if err != nil {
				return nil, fmt.Errorf("catalog: edit: %w", err)
			}
			changes = append(changes, Change{Field: name, Old: old, New: val})
		}
		if _, err := q.ExecContext(ctx, `UPDATE assets SET updated_at = ? WHERE id = ?`, now, a.ID); err != nil {
			return nil, fmt.Errorf("catalog: edit: %w", err)
		}
	}
	for _, c := range changes {
		detail, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("catalog: edit event: %w", err)
		}
		if err := AddEvent(ctx, q, Event{AssetID: a.ID, Type: "edited", Actor: actor, TxID: txid, Detail: string(detail)}); err != nil {
			return nil, err
		}
	}
	return changes, nil
}

// descriptiveValue checks an edited descriptive value and returns it as
// canonical JSON and as stored in its column.
func descriptiveValue(name string, raw json.RawMessage) (json.RawMessage, sql.NullString, error) {
	if name == "keywords" {
		var kws []string
		if string(raw) != "null" {
			if err := json.Unmarshal(raw, &kws); err != nil {
				return nil, sql.NullString{}, &FieldError{Field: name, Reason: "must be a list of strings"}
			}
		}
		kws = NormalizeTags(kws)
		if len(kws) == 0 {
			return json.RawMessage("null"), sql.NullString{}, nil
		}
		b, _ := json.Marshal(kws)
		return b, sql.NullString{String: string(b), Valid: true}, nil
	}
	var s *string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, sql.NullString{}, &FieldError{Field: name, Reason: "must be a string"}
	}
	if s == nil || strings.TrimSpace(*s) == "" {
		return json.RawMessage("null"), sql.NullString{}, nil
	}
	b, _ := json.Marshal(*s)
	return b, sql.NullString{String: *s, Valid: true}, nil
}

// columnJSON is a descriptive column's value as JSON.
func columnJSON(name string, v sql.NullString) json.RawMessage {
	if !v.Valid || v.String == "" {
		return json.RawMessage("null")
	}
	if name == "keywords" {
		return json.RawMessage(v.String)
	}
	b, _ := json.Marshal(v.String)
	return b
}

// checkValue validates a custom field's value against its type and
// returns it as canonical JSON (null removes it).
func checkValue(f ProjectField, raw json.RawMessage) (json.RawMessage, error) {
	if string(bytes.TrimSpace(raw)) == "null" {
		return json.RawMessage("null"), nil
	}
	bad := func(reason string) error { return &FieldError{Field: f.Name, Reason: reason} }
	var v any
	switch f.Type {
	case FieldString:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, bad("must be a string")
		}
		v = s
	case FieldNumber:
		var n float64
		if json.Unmarshal(raw, &n) != nil {
			return nil, bad("must be a number")
		}
		v = n
	case FieldBoolean:
		var b bool
		if json.Unmarshal(raw, &b) != nil {
			return nil, bad("must be true or false")
		}
		v = b
	case FieldDate:
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return nil, bad("must be a date (YYYY-MM-DD or RFC 3339)")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			if _, err := time.Parse(time.RFC3339, s); err != nil {
				return nil, bad("must be a date (YYYY-MM-DD or RFC 3339)")
			}
		}
		v = s
	case FieldEnum:
		var s string
		if json.Unmarshal(raw, &s) != nil || !slices.Contains(f.Choices, s) {
			return nil, bad("must be one of " + strings.Join(f.Choices, ", "))
		}
		v = s
	default:
		return nil, bad("has an unknown type " + f.Type)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, bad(err.Error())
	}
	return b, nil
}

// Edits returns an asset's edited values: descriptive fields by name and
// custom fields by name (only those of its project's schema).
func Edits(ctx context.Context, q Querier, a *Asset) (desc, custom map[string]json.RawMessage, err error) {
	rows, err := q.QueryContext(ctx, `SELECT field, value FROM asset_edits WHERE asset_id = ?`, a.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("catalog: edits: %w", err)
	}
	defer rows.Close()
	desc, custom = map[string]json.RawMessage{}, map[string]json.RawMessage{}
	for rows.Next() {
		var f, v string
		if err := rows.Scan(&f, &v); err != nil {
			return nil, nil, fmt.Errorf("catalog: edits: %w", err)
		}
		if name, ok := strings.CutPrefix(f, "custom:"); ok {
			custom[name] = json.RawMessage(v)
		} else {
			desc[f] = json.RawMessage(v)
		}
	}
	return desc, custom, rows.Err()
}

// applyEdits overrides extracted descriptive values with edited ones.
func applyEdits(ctx context.Context, q Querier, id string, d *Descriptive) error {
	rows, err := q.QueryContext(ctx, `SELECT field, value FROM asset_edits WHERE asset_id = ? AND field NOT LIKE 'custom:%'`, id)
	if err != nil {
		return fmt.Errorf("catalog: edits: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var f, v string
		if err := rows.Scan(&f, &v); err != nil {
			return fmt.Errorf("catalog: edits: %w", err)
		}
		var s string
		switch f {
		case "keywords":
			d.Keywords = nil
			_ = json.Unmarshal([]byte(v), &d.Keywords)
			continue
		default:
			_ = json.Unmarshal([]byte(v), &s) // null leaves ""
		}
		switch f {
		case "title":
			d.Title = s
		case "description":
			d.Description = s
		case "creator":
			d.Creator = s
		case "rights":
			d.Rights = s
		}
	}
	return rows.Err()
}

func sortedKeys(m map[string]json.RawMessage) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// CustomValues returns the custom field values of each asset.
func CustomValues(ctx context.Context, q Querier, ids []string) (map[string]map[string]json.RawMessage, error) {
	out := map[string]map[string]json.RawMessage{}
	if len(ids) == 0 {
		return out, nil
	}
	rows, err := q.QueryContext(ctx, `SELECT asset_id, substr(field, 8), value FROM asset_edits WHERE field LIKE 'custom:%'
		AND asset_id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, anySlice(ids)...)
	if err != nil {
		return nil, fmt.Errorf("catalog: custom values: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id, f, v string
		if err := rows.Scan(&id, &f, &v); err != nil {
			return nil, fmt.Errorf("catalog: custom values: %w", err)
		}
		if out[id] == nil {
			out[id] = map[string]json.RawMessage{}
		}
		out[id][f] = json.RawMessage(v)
	}
	return out, rows.Err()
}
