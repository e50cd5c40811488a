// Package premis writes an asset's preservation history as PREMIS 3 XML
// (namespace http://www.loc.gov/premis/v3): the asset as a file object
// with its fixity and format, every event of its history and every fixity
// check as PREMIS events, and the agents that acted.
package premis

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"stor/internal/catalog"
)

// Namespace is PREMIS 3's.
const Namespace = "http://www.loc.gov/premis/v3"

// Record is what the export holds for one asset.
type Record struct {
	Asset   *catalog.Asset
	Events  []catalog.Event
	Checks  []catalog.FixityCheck
	Version string // stor's, for the software agent
}

type doc struct {
	XMLName xml.Name `xml:"premis"`
	XMLNS   string   `xml:"xmlns,attr"`
	XSI     string   `xml:"xmlns:xsi,attr"`
	Schema  string   `xml:"xsi:schemaLocation,attr"`
	Version string   `xml:"version,attr"`
	Objects []object `xml:"object"`
	Events  []event  `xml:"event"`
	Agents  []agent  `xml:"agent"`
}

type ident struct {
	Type  string `xml:"objectIdentifierType"`
	Value string `xml:"objectIdentifierValue"`
}

type object struct {
	Type            string          `xml:"xsi:type,attr"`
	Identifier      ident           `xml:"objectIdentifier"`
	Characteristics characteristics `xml:"objectCharacteristics"`
	OriginalName    string          `xml:"originalName,omitempty"`
	Storage         []store         `xml:"storage"`
}

type characteristics struct {
	CompositionLevel int      `xml:"compositionLevel"`
	Fixity           []fixity `xml:"fixity"`
	Size             int64    `xml:"size"`
	Format           format   `xml:"format"`
}

type fixity struct {
	Algorithm  string `xml:"messageDigestAlgorithm"`
	Digest     string `xml:"messageDigest"`
	Originator string `xml:"messageDigestOriginator"`
}

type format struct {
	Name     string    `xml:"formatDesignation>formatName"`
	Registry *registry `xml:"formatRegistry,omitempty"`
}

type registry struct {
	Name string `xml:"formatRegistryName"`
	Key  string `xml:"formatRegistryKey"`
}

type store struct {
	LocationType  string `xml:"contentLocation>contentLocationType"`
	LocationValue string `xml:"contentLocation>contentLocationValue"`
	Medium        string `xml:"storageMedium,omitempty"`
}

type event struct {
	IDType   string         `xml:"eventIdentifier>eventIdentifierType"`
	IDValue  string         `xml:"eventIdentifier>eventIdentifierValue"`
	Type     string         `xml:"eventType"`
	DateTime string         `xml:"eventDateTime"`
	Detail   string         `xml:"eventDetailInformation>eventDetail,omitempty"`
	Outcome  outcome        `xml:"eventOutcomeInformation"`
	Agents   []linkAgent    `xml:"linkingAgentIdentifier"`
	Objects  []linkedObject `xml:"linkingObjectIdentifier"`
}

type outcome struct {
	Outcome string `xml:"eventOutcome"`
	Note    string `xml:"eventOutcomeDetail>eventOutcomeDetailNote,omitempty"`
}

type linkAgent struct {
	Type  string `xml:"linkingAgentIdentifierType"`
	Value string `xml:"linkingAgentIdentifierValue"`
	Role  string `xml:"linkingAgentRole"`
}

type linkedObject struct {
	Type  string `xml:"linkingObjectIdentifierType"`
	Value string `xml:"linkingObjectIdentifierValue"`
	Role  string `xml:"linkingObjectRole,omitempty"`
}

type agent struct {
	IDType  string `xml:"agentIdentifier>agentIdentifierType"`
	IDValue string `xml:"agentIdentifier>agentIdentifierValue"`
	Name    string `xml:"agentName"`
	Type    string `xml:"agentType"`
	Version string `xml:"agentVersion,omitempty"`
}

// eventTypes maps stor's event types to the PREMIS event type vocabulary
// (id.loc.gov/vocabulary/preservation/eventType); others keep their name.
var eventTypes = map[string]string{
	"ingested":      "ingestion",
	"replicated":    "replication",
	"repaired":      "recovery",
	"deleted":       "deaccession",
	"purged":        "deletion",
	"fixity.failed": "fixity check",
	"fixity.ok":     "fixity check",
	"reprocess":     "policy assignment",
}

func eventType(t string) string {
	if v, ok := eventTypes[t]; ok {
		return v
	}
	if strings.HasPrefix(t, "task.") {
		return "creation" // derivatives and what processing learned
	}
	return t
}

func eventOutcome(e catalog.Event) string {
	switch {
	case e.Type == "fixity.failed", e.Type == "task.failed", e.Type == "state.failed":
		return "failure"
	}
	return "success"
}

const softwareAgent = "stor"

// Write writes rec as one PREMIS document.
func Write(w io.Writer, rec Record) error {
	a := rec.Asset
	objID := ident{Type: "stor-asset", Value: a.ID}
	fx := []fixity{{Algorithm: "SHA-256", Digest: a.SHA256, Originator: softwareAgent}}
	if a.MD5 != "" {
		fx = append(fx, fixity{Algorithm: "MD5", Digest: a.MD5, Originator: softwareAgent})
	}
	fmtName := a.ContentType
	if a.Format != "" {
		fmtName = a.Format + " (" + a.ContentType + ")"
	}
	f := format{Name: fmtName}
	if a.PRONOM != "" {
		f.Registry = &registry{Name: "PRONOM", Key: a.PRONOM}
	}
	copies := map[string]bool{}
	for _, c := range rec.Checks {
		if c.Object == "original" {
			copies[c.Copy] = true
		}
	}
	stores := []store{{LocationType: "stor-blob-key", LocationValue: a.BlobKey, Medium: "primary"}}
	names := make([]string, 0, len(copies))
	for n := range copies {
		if n != "primary" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		stores = append(stores, store{LocationType: "stor-blob-key", LocationValue: a.BlobKey, Medium: n})
	}
	d := doc{
		XMLNS: Namespace, XSI: "http://www.w3.org/2001/XMLSchema-instance",
		Schema:  Namespace + " https://www.loc.gov/standards/premis/premis.xsd",
		Version: "3.0",
		Objects: []object{{Type: "file", Identifier: objID, Characteristics: characteristics{
			Fixity: fx, Size: a.Size, Format: f}, OriginalName: a.Filename, Storage: stores}},
	}
	link := linkedObject{Type: "stor-asset", Value: a.ID, Role: "source"}
	actors := map[string]bool{softwareAgent: true}
	var evs []event
	var times []time.Time
	for _, e := range rec.Events {
		actor := e.Actor
		if actor == "" || actor == "system" {
			actor = softwareAgent
		}
		actors[actor] = true
		role := "implementer"
		if actor == softwareAgent {
			role = "executing program"
		}
		evs = append(evs, event{IDType: "stor-event", IDValue: strconv.FormatInt(e.Seq, 10), Type: eventType(e.Type),
			DateTime: e.CreatedAt.UTC().Format(time.RFC3339Nano), Detail: "stor:" + e.Type + " " + compact(e.Detail),
			Outcome: outcome{Outcome: eventOutcome(e)},
			Agents:  []linkAgent{{Type: "stor-agent", Value: actor, Role: role}}, Objects: []linkedObject{link}})
		times = append(times, e.CreatedAt)
	}
	for _, c := range rec.Checks {
		note := fmt.Sprintf("object %s, copy %s, %s expected %s actual %s, %d bytes in %s", c.Object, c.Copy,
			c.Algorithm, c.Expected, orNone(c.Actual), c.Bytes, c.Duration.Round(time.Microsecond))
		if c.Error != "" {
			note += ", error: " + c.Error
		}
		res := "success"
		if c.Outcome != catalog.FixityOK {
			res = "failure: " + c.Outcome
		}
		evs = append(evs, event{IDType: "stor-fixity-check", IDValue: strconv.FormatInt(c.Seq, 10), Type: "fixity check",
			DateTime: c.CheckedAt.UTC().Format(time.RFC3339Nano), Detail: "re-read and re-hash of a stored copy",
			Outcome: outcome{Outcome: res, Note: note},
			Agents:  []linkAgent{{Type: "stor-agent", Value: softwareAgent, Role: "executing program"}},
			Objects: []linkedObject{link}})
		times = append(times, c.CheckedAt)
	}
	// Oldest first, whatever table they came from.
	idx := make([]int, len(evs))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return times[idx[i]].Before(times[idx[j]]) })
	for _, i := range idx {
		d.Events = append(d.Events, evs[i])
	}
	agentNames := make([]string, 0, len(actors))
	for n := range actors {
		agentNames = append(agentNames, n)
	}
	sort.Strings(agentNames)
	for _, n := range agentNames {
		ag := agent{IDType: "stor-agent", IDValue: n, Name: n, Type: "person"}
		if n == softwareAgent {
			ag.Name, ag.Type, ag.Version = "stor", "software", rec.Version
		} else if strings.HasPrefix(n, "token:") {
			ag.Type = "software" // an API client
		}
		d.Agents = append(d.Agents, ag)
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(d); err != nil {
		return fmt.Errorf("premis: %w", err)
	}
	_, err := io.WriteString(w, "\n")
	return err
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func compact(detail string) string {
	var v any
	if json.Unmarshal([]byte(detail), &v) != nil {
		return detail
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// Load reads an asset's events and fixity checks.
func Load(ctx context.Context, q catalog.Querier, a *catalog.Asset, version string) (Record, error) {
	evs, err := catalog.ListEvents(ctx, q, a.ID)
	if err != nil {
		return Record{}, err
	}
	checks, err := catalog.ListFixityChecks(ctx, q, catalog.FixityCheckFilter{AssetID: a.ID, Limit: 100000})
	if err != nil {
		return Record{}, err
	}
	slices.Reverse(checks) // oldest first
	return Record{Asset: a, Events: evs, Checks: checks, Version: version}, nil
}
