package actions_test

// The contract between the Go actions and the Rasa project.
//
// actions/catalogue.go lists every action the server serves, every response
// an action can emit (with the template variables it passes) and every slot
// and categorical value an action can set. rasa-project/ is edited by the
// conversation team. This test parses the Rasa project (domain.yml, data/,
// tests/e2e/ -- every YAML file must parse) and fails on drift between the
// two, so that neither side can rename or drop something the other relies on
// without `make test` saying so.

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/sctbnk/cardblock/actions"
)

const (
	rasaProjectDir = "../rasa-project"
	// minExamplesPerIntent is what the conversation team agreed for NLU data.
	minExamplesPerIntent = 20
)

// project is the Rasa project as this test understands it: the parsed,
// normalised parts the contract is about, plus every problem found while
// reading it (a YAML file that does not parse, a section of the wrong shape).
type project struct {
	Root     string
	Domain   rasaDomain
	Dialogue []dialogueFile // data/: rules and stories
	NLU      []nluFile      // data/: nlu sections
	E2E      []e2eFile      // tests/e2e/
	Problems []string
}

// catalogue is what the Go actions serve, emit and set.
type catalogue struct {
	Actions   []string
	Responses []actions.ResponseSpec
	Slots     []actions.SlotSpec
	Form      string
}

func currentCatalogue() catalogue {
	return catalogue{
		Actions:   actions.ServedActionNames(),
		Responses: actions.Responses(),
		Slots:     actions.Slots(),
		Form:      actions.FormCardBlock,
	}
}

type rasaDomain struct {
	Present   bool
	Intents   []string
	Entities  []string
	Actions   []string
	Forms     map[string][]string // form name -> required slots
	Slots     map[string]rasaSlot
	Responses map[string][]rasaVariation
}

type rasaSlot struct {
	Type      string
	Values    []string // categorical values
	Influence *bool
	Mappings  []slotMapping
}

type slotMapping struct {
	Type       string
	Entity     string
	Intents    []string
	NotIntents []string
	Conditions []mappingCondition
}

type mappingCondition struct {
	ActiveLoop    string
	RequestedSlot string
}

type rasaVariation struct {
	Text       string
	Conditions []responseCondition
}

type responseCondition struct {
	Type  string
	Name  string
	Value any
}

type dialogueFile struct {
	Path  string
	Items []dialogueItem
}

type dialogueItem struct {
	Kind  string // "rule" or "story"
	Name  string
	Steps []dialogueStep // condition steps first, then steps
}

type dialogueStep struct {
	Intents    []string // intent, or the intents of an `or`
	Action     string
	ActiveLoop *string // set when the step is an active_loop step; "" = null
	Slots      []slotAssertion
}

type slotAssertion struct {
	Name     string
	Value    any
	HasValue bool
}

type nluFile struct {
	Path     string
	Examples map[string][]string // intent -> examples
	Entities map[string]bool     // entity types annotated in examples
}

type e2eFile struct {
	Path     string
	Metadata map[string]map[string]any
	Cases    []e2eCase
}

type e2eCase struct {
	Name     string
	Metadata string
	Steps    []e2eStep
}

type e2eStep struct {
	User        *string
	Utter       string
	Bot         string
	SlotsSet    []slotAssertion
	SlotsNotSet []slotAssertion
}

// ---------------------------------------------------------------------------
// Reading the project
// ---------------------------------------------------------------------------

func loadProject(root string) project {
	p := project{Root: root}
	p.Domain.Forms = map[string][]string{}
	p.Domain.Slots = map[string]rasaSlot{}
	p.Domain.Responses = map[string][]rasaVariation{}

	// Every YAML file of the project must parse, including the ones this test
	// does not otherwise read (config, endpoints, credentials).
	files := map[string]any{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "models", ".rasa", "results", "node_modules":
				return filepath.SkipDir
			}
			return nil
		}
		if ext := filepath.Ext(path); ext != ".yml" && ext != ".yaml" {
			return nil
		}
		rel, _ := filepath.Rel(root, path)
		b, err := os.ReadFile(path)
		if err != nil {
			p.problem("%s: %v", rel, err)
			return nil
		}
		var doc any
		if err := yaml.Unmarshal(b, &doc); err != nil {
			p.problem("%s: YAML does not parse: %v", rel, err)
			return nil
		}
		files[filepath.ToSlash(rel)] = doc
		return nil
	})
	if err != nil {
		p.problem("reading %s: %v", root, err)
	}

	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		doc, _ := files[name].(map[string]any)
		switch {
		case name == "domain.yml" || name == "domain.yaml" || strings.HasPrefix(name, "domain/"):
			p.readDomain(name, doc)
		case strings.HasPrefix(name, "data/"):
			if doc == nil {
				p.problem("%s: not a YAML mapping", name)
				continue
			}
			if _, ok := doc["nlu"]; ok {
				p.readNLU(name, doc["nlu"])
			}
			if _, ok := doc["rules"]; ok {
				p.readDialogue(name, "rule", doc["rules"])
			}
			if _, ok := doc["stories"]; ok {
				p.readDialogue(name, "story", doc["stories"])
			}
		case strings.HasPrefix(name, "tests/e2e/"):
			if doc == nil {
				p.problem("%s: not a YAML mapping", name)
				continue
			}
			p.readE2E(name, doc)
		}
	}
	if !p.Domain.Present {
		p.problem("domain.yml: not found in %s", root)
	}
	return p
}

func (p *project) problem(format string, args ...any) {
	p.Problems = append(p.Problems, fmt.Sprintf(format, args...))
}

func (p *project) readDomain(file string, doc map[string]any) {
	if doc == nil {
		p.problem("%s: not a YAML mapping", file)
		return
	}
	p.Domain.Present = true
	p.Domain.Intents = append(p.Domain.Intents, yamlNames(doc["intents"])...)
	p.Domain.Entities = append(p.Domain.Entities, yamlNames(doc["entities"])...)
	for _, a := range yamlList(doc["actions"]) {
		if s, ok := a.(string); ok {
			p.Domain.Actions = append(p.Domain.Actions, s)
		} else {
			p.problem("%s: actions: %v is not an action name", file, a)
		}
	}
	for name, f := range yamlMap(doc["forms"]) {
		fm := yamlMap(f)
		req, ok := fm["required_slots"].([]any)
		if !ok && fm["required_slots"] != nil {
			p.problem("%s: form %s: required_slots must be a list of slot names", file, name)
		}
		p.Domain.Forms[name] = yamlStrings(req)
	}
	for name, s := range yamlMap(doc["slots"]) {
		sm := yamlMap(s)
		slot := rasaSlot{Type: yamlString(sm["type"])}
		for _, v := range yamlList(sm["values"]) {
			slot.Values = append(slot.Values, fmt.Sprint(v))
		}
		if b, ok := sm["influence_conversation"].(bool); ok {
			slot.Influence = &b
		}
		for _, m := range yamlList(sm["mappings"]) {
			mm := yamlMap(m)
			mapping := slotMapping{
				Type:       yamlString(mm["type"]),
				Entity:     yamlString(mm["entity"]),
				Intents:    yamlStringOrList(mm["intent"]),
				NotIntents: yamlStringOrList(mm["not_intent"]),
			}
			for _, c := range yamlList(mm["conditions"]) {
				cm := yamlMap(c)
				mapping.Conditions = append(mapping.Conditions, mappingCondition{
					ActiveLoop: yamlString(cm["active_loop"]), RequestedSlot: yamlString(cm["requested_slot"]),
				})
			}
			slot.Mappings = append(slot.Mappings, mapping)
		}
		p.Domain.Slots[name] = slot
	}
	for name, r := range yamlMap(doc["responses"]) {
		list, ok := r.([]any)
		if !ok {
			p.problem("%s: response %s must be a list of variations", file, name)
			continue
		}
		var vars []rasaVariation
		for _, v := range list {
			vm := yamlMap(v)
			variation := rasaVariation{Text: yamlString(vm["text"])}
			for _, c := range yamlList(vm["condition"]) {
				cm := yamlMap(c)
				variation.Conditions = append(variation.Conditions, responseCondition{
					Type: yamlString(cm["type"]), Name: yamlString(cm["name"]), Value: cm["value"],
				})
			}
			vars = append(vars, variation)
		}
		p.Domain.Responses[name] = vars
	}
}

func (p *project) readDialogue(file, kind string, section any) {
	list, ok := section.([]any)
	if !ok && section != nil {
		p.problem("%s: %ss must be a list", file, kind)
		return
	}
	df := dialogueFile{Path: file}
	for _, it := range list {
		m := yamlMap(it)
		item := dialogueItem{Kind: kind, Name: yamlString(m[kind])}
		if item.Name == "" {
			p.problem("%s: a %s without a name", file, kind)
		}
		for _, s := range append(yamlList(m["condition"]), yamlList(m["steps"])...) {
			item.Steps = append(item.Steps, parseDialogueStep(yamlMap(s)))
		}
		df.Items = append(df.Items, item)
	}
	p.Dialogue = append(p.Dialogue, df)
}

func parseDialogueStep(m map[string]any) dialogueStep {
	var st dialogueStep
	if in := yamlString(m["intent"]); in != "" {
		st.Intents = append(st.Intents, in)
	}
	for _, alt := range yamlList(m["or"]) {
		if in := yamlString(yamlMap(alt)["intent"]); in != "" {
			st.Intents = append(st.Intents, in)
		}
	}
	st.Action = yamlString(m["action"])
	if v, ok := m["active_loop"]; ok {
		loop := yamlString(v)
		st.ActiveLoop = &loop
	}
	st.Slots = slotAssertions(m["slot_was_set"])
	return st
}

var (
	// [text](entity) and [text]{"entity": "name", ...}
	entityShort = regexp.MustCompile(`\]\(([A-Za-z0-9_]+)[^)]*\)`)
	entityLong  = regexp.MustCompile(`\]\{[^}]*"entity"\s*:\s*"([A-Za-z0-9_]+)"`)
)

func (p *project) readNLU(file string, section any) {
	list, ok := section.([]any)
	if !ok && section != nil {
		p.problem("%s: nlu must be a list", file)
		return
	}
	nf := nluFile{Path: file, Examples: map[string][]string{}, Entities: map[string]bool{}}
	for _, it := range list {
		m := yamlMap(it)
		intent := yamlString(m["intent"])
		if intent == "" {
			continue // synonym, regex, lookup
		}
		for _, line := range strings.Split(yamlString(m["examples"]), "\n") {
			ex, found := strings.CutPrefix(strings.TrimSpace(line), "- ")
			if !found || strings.TrimSpace(ex) == "" {
				continue
			}
			nf.Examples[intent] = append(nf.Examples[intent], ex)
			for _, re := range []*regexp.Regexp{entityShort, entityLong} {
				for _, sub := range re.FindAllStringSubmatch(ex, -1) {
					nf.Entities[sub[1]] = true
				}
			}
		}
	}
	p.NLU = append(p.NLU, nf)
}

func (p *project) readE2E(file string, doc map[string]any) {
	ef := e2eFile{Path: file, Metadata: map[string]map[string]any{}}
	for _, md := range yamlList(doc["metadata"]) {
		for name, v := range yamlMap(md) {
			ef.Metadata[name] = yamlMap(v)
		}
	}
	cases, ok := doc["test_cases"].([]any)
	if !ok {
		p.problem("%s: no test_cases list", file)
	}
	for _, c := range cases {
		cm := yamlMap(c)
		tc := e2eCase{Name: yamlString(cm["test_case"]), Metadata: yamlString(cm["metadata"])}
		if tc.Name == "" {
			p.problem("%s: a test case without a test_case name", file)
		}
		for _, s := range yamlList(cm["steps"]) {
			sm := yamlMap(s)
			var st e2eStep
			if u, ok := sm["user"]; ok {
				text := yamlString(u)
				st.User = &text
			}
			st.Utter = yamlString(sm["utter"])
			st.Bot = yamlString(sm["bot"])
			st.SlotsSet = slotAssertions(sm["slot_was_set"])
			st.SlotsNotSet = slotAssertions(sm["slot_was_not_set"])
			tc.Steps = append(tc.Steps, st)
		}
		ef.Cases = append(ef.Cases, tc)
	}
	p.E2E = append(p.E2E, ef)
}

// slotAssertions reads a slot_was_set list: names, or single-key maps of
// name to value.
func slotAssertions(v any) []slotAssertion {
	var out []slotAssertion
	for _, it := range yamlList(v) {
		switch x := it.(type) {
		case string:
			out = append(out, slotAssertion{Name: x})
		case map[string]any:
			for name, val := range x {
				out = append(out, slotAssertion{Name: name, Value: val, HasValue: true})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func yamlMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func yamlList(v any) []any {
	l, _ := v.([]any)
	return l
}

func yamlString(v any) string {
	if v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func yamlStrings(l []any) []string {
	out := make([]string, 0, len(l))
	for _, v := range l {
		out = append(out, yamlString(v))
	}
	return out
}

func yamlStringOrList(v any) []string {
	if s, ok := v.(string); ok {
		return []string{s}
	}
	return yamlStrings(yamlList(v))
}

// namesOf reads a domain list whose items are names or single-key maps
// (`- greet` or `- greet: {use_entities: []}`).
func yamlNames(v any) []string {
	var out []string
	for _, it := range yamlList(v) {
		switch x := it.(type) {
		case string:
			out = append(out, x)
		case map[string]any:
			for k := range x {
				out = append(out, k)
			}
		}
	}
	return out
}

// ---------------------------------------------------------------------------
// The contract
// ---------------------------------------------------------------------------

// rasaBuiltinActions are Rasa's own actions (Open Source 3.x and Pro). A
// domain may list them without the action server serving them.
// action_session_start is not here: listed in the domain it is served by us.
var rasaBuiltinActions = map[string]bool{
	"action_listen": true, "action_restart": true, "action_default_fallback": true,
	"action_deactivate_loop": true, "action_revert_fallback_events": true,
	"action_default_ask_affirmation": true, "action_default_ask_rephrase": true,
	"action_two_stage_fallback": true, "action_back": true, "action_unlikely_intent": true,
	"action_extract_slots": true,
	// Rasa Pro
	"action_cancel_flow": true, "action_clean_stack": true, "action_correct_flow_slot": true,
	"action_run_slot_rejections": true, "action_trigger_chitchat": true,
	"action_trigger_search": true, "action_reset_routing": true, "action_hangup": true,
	"action_repeat_bot_messages": true, "action_send_text": true,
}

// rasaDefaultIntents exist in every domain.
var rasaDefaultIntents = map[string]bool{
	"nlu_fallback": true, "restart": true, "back": true, "session_start": true,
	"session_end": true, "out_of_scope": true,
}

// rasaOwnSlots are set by Rasa itself.
var rasaOwnSlots = map[string]bool{"requested_slot": true, "session_started_metadata": true}

var (
	placeholderRe = regexp.MustCompile(`\{([A-Za-z0-9_]+)\}`)
	// The card is always read out as "terminada(s) en 4 5 6 7".
	cardSpokenRe = regexp.MustCompile(`terminadas? en \{card_spoken\}`)
)

// checkContract returns every way the Rasa project and the Go actions'
// catalogue disagree (nil when they agree).
func checkContract(p project, cat catalogue) []string {
	var out []string
	add := func(format string, args ...any) { out = append(out, fmt.Sprintf(format, args...)) }
	d := p.Domain

	out = append(out, p.Problems...)

	// --- actions -------------------------------------------------------------
	served := nameSet(cat.Actions)
	for _, a := range d.Actions {
		if strings.HasPrefix(a, "utter_") || rasaBuiltinActions[a] {
			continue
		}
		if !served[a] {
			add("domain action %q is not served by the Go action server (catalogue.go ServedActionNames)", a)
		}
	}
	inDomain := nameSet(d.Actions)
	for _, a := range cat.Actions {
		if !inDomain[a] {
			add("served action %q is missing from the domain's actions", a)
		}
		if form, ok := strings.CutPrefix(a, "validate_"); ok {
			if _, declared := d.Forms[form]; !declared {
				add("served action %q validates form %q, which the domain does not declare", a, form)
			}
		}
	}
	if cat.Form != "" {
		if _, ok := d.Forms[cat.Form]; !ok {
			add("form %q (catalogue.go FormCardBlock) is missing from the domain's forms", cat.Form)
		}
	}

	// --- responses the actions emit -----------------------------------------
	emitted := map[string]actions.ResponseSpec{}
	for _, r := range cat.Responses {
		emitted[r.Name] = r
		vars, ok := d.Responses[r.Name]
		if !ok {
			add("response %q (emitted by the actions) is missing from the domain", r.Name)
			continue
		}
		spanish := false
		for _, v := range vars {
			if looksSpanish(v.Text) {
				spanish = true
			}
		}
		if !spanish {
			add("response %q has no Spanish text variation", r.Name)
		}
		supplied := nameSet(r.Vars)
		for i, v := range vars {
			for _, m := range placeholderRe.FindAllStringSubmatch(v.Text, -1) {
				if !supplied[m[1]] {
					add("response %q variation %d uses placeholder {%s}, which the action does not supply (it supplies %v)", r.Name, i+1, m[1], r.Vars)
				}
			}
		}
	}

	// --- every response: spoken by TTS -------------------------------------
	for _, name := range sortedNames(d.Responses) {
		vars := d.Responses[name]
		if len(vars) == 0 {
			add("response %q has no variation", name)
		}
		for i, v := range vars {
			if v.Text == "" {
				add("response %q variation %d has no text (the phone can only speak text)", name, i+1)
				continue
			}
			if bad := ttsTrouble(v.Text); bad != "" {
				add("response %q variation %d %s", name, i+1, bad)
			}
			if strings.Contains(v.Text, "{card_spoken}") && !cardSpokenRe.MatchString(v.Text) {
				add("response %q variation %d must say the card as \"terminada en {card_spoken}\"", name, i+1)
			}
			if _, fromAction := emitted[name]; !fromAction {
				for _, m := range placeholderRe.FindAllStringSubmatch(v.Text, -1) {
					if _, ok := d.Slots[m[1]]; !ok {
						add("response %q variation %d uses placeholder {%s}, which is not a domain slot", name, i+1, m[1])
					}
				}
			}
			for _, c := range v.Conditions {
				if _, ok := d.Slots[c.Name]; c.Type == "slot" && !ok {
					add("response %q variation %d is conditioned on slot %q, which the domain lacks", name, i+1, c.Name)
				}
			}
		}
		// A re-asked question must sound different: every ask has a
		// conditional (retry) variation besides its first wording.
		if strings.HasPrefix(name, "utter_ask_") {
			conditional, plain := 0, 0
			for _, v := range vars {
				if len(v.Conditions) > 0 {
					conditional++
				} else {
					plain++
				}
			}
			if conditional == 0 || plain == 0 {
				add("response %q needs a first wording and a conditional retry variation", name)
			}
		}
	}

	// --- slots the actions set ----------------------------------------------
	for _, s := range cat.Slots {
		ds, ok := d.Slots[s.Name]
		if !ok {
			add("slot %q (set by the actions) is missing from the domain", s.Name)
			continue
		}
		if ds.Type != s.Type {
			add("slot %q has type %q in the domain, the actions set it as %q", s.Name, ds.Type, s.Type)
		}
		allowed := nameSet(ds.Values)
		for _, v := range s.Values {
			if !allowed[v] {
				add("slot %q: the actions set the categorical value %q, which the domain does not allow (allows %v)", s.Name, v, ds.Values)
			}
		}
	}

	// --- the domain is consistent with itself (what `rasa data validate`
	// rejects, checked here so that `make test` needs no Python) -----------
	intents := nameSet(d.Intents)
	for n := range rasaDefaultIntents {
		intents[n] = true
	}
	entities := nameSet(d.Entities)
	for _, form := range sortedNames(d.Forms) {
		for _, s := range d.Forms[form] {
			if _, ok := d.Slots[s]; !ok {
				add("form %q requires slot %q, which the domain lacks", form, s)
			}
		}
	}
	for _, name := range sortedNames(d.Slots) {
		for _, m := range d.Slots[name].Mappings {
			if m.Type == "from_entity" && !entities[m.Entity] {
				add("slot %q is mapped from entity %q, which the domain lacks", name, m.Entity)
			}
			for _, in := range append(slices.Clone(m.Intents), m.NotIntents...) {
				if !intents[in] {
					add("slot %q has a mapping on intent %q, which the domain lacks", name, in)
				}
			}
			for _, c := range m.Conditions {
				req, ok := d.Forms[c.ActiveLoop]
				switch {
				case c.ActiveLoop == "":
				case !ok:
					add("slot %q has a mapping condition on form %q, which the domain lacks", name, c.ActiveLoop)
				case !slices.Contains(req, name):
					add("slot %q has a mapping condition on form %q but is not in its required_slots (rasa data validate rejects this)", name, c.ActiveLoop)
				}
			}
		}
	}

	// --- rules and stories ------------------------------------------------
	knownActions := nameSet(d.Actions)
	for n := range d.Responses {
		knownActions[n] = true
	}
	for n := range d.Forms {
		knownActions[n] = true
	}
	for n := range rasaBuiltinActions {
		knownActions[n] = true
	}
	knownActions["action_session_start"] = true
	for _, f := range p.Dialogue {
		for _, it := range f.Items {
			where := fmt.Sprintf("%s: %s %q", f.Path, it.Kind, it.Name)
			for _, st := range it.Steps {
				for _, in := range st.Intents {
					if !intents[in] {
						add("%s uses intent %q, which the domain lacks", where, in)
					}
				}
				if st.Action != "" && !knownActions[st.Action] {
					add("%s uses action %q, which the domain lacks", where, st.Action)
				}
				if st.ActiveLoop != nil && *st.ActiveLoop != "" {
					if _, ok := d.Forms[*st.ActiveLoop]; !ok {
						add("%s uses active_loop %q, which is not a domain form", where, *st.ActiveLoop)
					}
				}
				out = append(out, checkSlotAssertions(d, where, st.Slots)...)
			}
		}
	}

	// --- NLU --------------------------------------------------------------
	examples := map[string]int{}
	for _, f := range p.NLU {
		for in, exs := range f.Examples {
			examples[in] += len(exs)
			if !intents[in] {
				add("%s: NLU intent %q is not in the domain", f.Path, in)
			}
		}
		for e := range f.Entities {
			if !entities[e] {
				add("%s: NLU annotates entity %q, which the domain lacks", f.Path, e)
			}
		}
	}
	if len(p.NLU) > 0 {
		for _, in := range d.Intents {
			if examples[in] < minExamplesPerIntent {
				add("intent %q has %d NLU examples, fewer than %d", in, examples[in], minExamplesPerIntent)
			}
		}
	}

	// --- e2e tests --------------------------------------------------------
	callIDs := map[string]string{}
	for _, f := range p.E2E {
		for _, tc := range f.Cases {
			where := fmt.Sprintf("%s: test case %q", f.Path, tc.Name)
			md, ok := f.Metadata[tc.Metadata]
			switch {
			case tc.Metadata == "":
				add("%s names no metadata (it must carry user_phone and call_id)", where)
			case !ok:
				add("%s uses metadata %q, which the file does not define", where, tc.Metadata)
			default:
				if yamlString(md["user_phone"]) == "" {
					add("%s: metadata %q has no user_phone", where, tc.Metadata)
				}
				id := yamlString(md["call_id"])
				if id == "" {
					add("%s: metadata %q has no call_id", where, tc.Metadata)
				} else if other, dup := callIDs[id]; dup && other != tc.Name {
					add("%s: call_id %q is also used by test case %q", where, id, other)
				} else {
					callIDs[id] = tc.Name
				}
			}
			for _, st := range tc.Steps {
				if st.Utter != "" {
					if _, ok := d.Responses[st.Utter]; !ok {
						add("%s expects utter %q, which the domain lacks", where, st.Utter)
					}
				}
				out = append(out, checkSlotAssertions(d, where, st.SlotsSet)...)
				out = append(out, checkSlotAssertions(d, where, st.SlotsNotSet)...)
			}
		}
	}
	return out
}

// checkSlotAssertions: the slots exist and categorical values are allowed.
func checkSlotAssertions(d rasaDomain, where string, slots []slotAssertion) []string {
	var out []string
	for _, s := range slots {
		if rasaOwnSlots[s.Name] {
			continue
		}
		ds, ok := d.Slots[s.Name]
		if !ok {
			out = append(out, fmt.Sprintf("%s sets slot %q, which the domain lacks", where, s.Name))
			continue
		}
		if ds.Type == actions.TypeCategorical && s.HasValue && s.Value != nil && !slices.Contains(ds.Values, yamlString(s.Value)) {
			out = append(out, fmt.Sprintf("%s sets slot %q to %q, which the domain does not allow (allows %v)", where, s.Name, yamlString(s.Value), ds.Values))
		}
	}
	return out
}

var spanishWords = nameSet([]string{
	"de", "la", "el", "que", "en", "y", "los", "las", "un", "una", "su", "por", "con",
	"no", "se", "le", "lo", "es", "para", "del", "al", "ya", "sin", "está", "ha",
	"he", "hemos", "usted", "tarjeta", "puede", "favor", "dígame",
})

// looksSpanish is deliberately simple: Spanish punctuation or letters, or at
// least two common Spanish words.
func looksSpanish(text string) bool {
	if strings.TrimSpace(text) == "" {
		return false
	}
	if strings.ContainsAny(text, "áéíóúñ¿¡ÁÉÍÓÚÑ") {
		return true
	}
	n := 0
	for _, w := range strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) }) {
		if spanishWords[w] {
			n++
		}
	}
	return n >= 2
}

// ttsTrouble reports what text-to-speech would read out literally or drop.
func ttsTrouble(text string) string {
	for _, m := range []string{"**", "__", "`", "](", "# ", "<", ">"} {
		if strings.Contains(text, m) {
			return fmt.Sprintf("contains markup %q (it is spoken by text-to-speech)", m)
		}
	}
	for _, r := range text {
		if r >= 0x1F000 || (r >= 0x2600 && r <= 0x27BF) || r == 0xFE0F {
			return fmt.Sprintf("contains an emoji %q (it is spoken by text-to-speech)", r)
		}
	}
	return ""
}

func nameSet(l []string) map[string]bool {
	m := make(map[string]bool, len(l))
	for _, s := range l {
		m[s] = true
	}
	return m
}

func sortedNames[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ---------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------

// TestDomainContract: the Rasa project and the Go actions agree.
func TestDomainContract(t *testing.T) {
	p := loadProject(rasaProjectDir)
	for _, problem := range checkContract(p, currentCatalogue()) {
		t.Error(problem)
	}
	cases := 0
	for _, f := range p.E2E {
		cases += len(f.Cases)
	}
	items := 0
	for _, f := range p.Dialogue {
		items += len(f.Items)
	}
	t.Logf("checked %d actions, %d responses, %d slots against a domain of %d intents, %d slots, %d responses; %d rules/stories, %d e2e test cases",
		len(currentCatalogue().Actions), len(currentCatalogue().Responses), len(currentCatalogue().Slots),
		len(p.Domain.Intents), len(p.Domain.Slots), len(p.Domain.Responses), items, cases)
}

// TestContractCatchesSeededDrift feeds checkContract a project or catalogue
// with one seeded drift each and asserts that it is reported.
func TestContractCatchesSeededDrift(t *testing.T) {
	// Each seed is applied to a fresh copy of the real project; the checks
	// look for the seeded problem only, so a drift already present in the
	// project (TestDomainContract reports it) does not hide this test.
	if p := loadProject(rasaProjectDir); len(p.E2E) == 0 || len(p.E2E[0].Cases) < 2 || len(p.Dialogue) == 0 || len(p.Dialogue[0].Items) == 0 {
		t.Fatalf("the seeds need the project's rules and at least two e2e test cases")
	}
	cases := []struct {
		name string
		seed func(p *project, c *catalogue)
		want string
	}{
		{"response removed from the domain", func(p *project, c *catalogue) {
			delete(p.Domain.Responses, actions.UtterTicketQueued)
		}, `response "utter_ticket_queued" (emitted by the actions) is missing`},
		{"response without Spanish text", func(p *project, c *catalogue) {
			p.Domain.Responses[actions.UtterHandoff] = []rasaVariation{{Text: "Transferring you to an agent now."}}
		}, `response "utter_handoff" has no Spanish text variation`},
		{"response with an empty variation", func(p *project, c *catalogue) {
			p.Domain.Responses[actions.UtterNoTicket] = []rasaVariation{{}}
		}, `response "utter_no_ticket" has no Spanish text variation`},
		{"placeholder the action does not supply", func(p *project, c *catalogue) {
			p.Domain.Responses[actions.UtterConfirmBlock] = append(p.Domain.Responses[actions.UtterConfirmBlock],
				rasaVariation{Text: "¿Bloqueo la tarjeta terminada en {card_spoken}? Incidencia {ticket_id}."})
		}, `uses placeholder {ticket_id}, which the action does not supply`},
		{"categorical value missing from the domain", func(p *project, c *catalogue) {
			s := p.Domain.Slots[actions.SlotBlockReason]
			s.Values = slices.DeleteFunc(slices.Clone(s.Values), func(v string) bool { return v == "other" })
			p.Domain.Slots[actions.SlotBlockReason] = s
		}, `categorical value "other"`},
		{"categorical value the actions start to set", func(p *project, c *catalogue) {
			c.Slots = slices.Clone(c.Slots)
			for i, s := range c.Slots {
				if s.Name == actions.SlotTicketStatus {
					c.Slots[i].Values = append(slices.Clone(s.Values), "dead")
				}
			}
		}, `categorical value "dead"`},
		{"slot missing from the domain", func(p *project, c *catalogue) {
			delete(p.Domain.Slots, actions.SlotCardBlocked)
		}, `slot "card_blocked" (set by the actions) is missing`},
		{"slot typed differently", func(p *project, c *catalogue) {
			s := p.Domain.Slots[actions.SlotVerificationAttempts]
			s.Type = "text"
			p.Domain.Slots[actions.SlotVerificationAttempts] = s
		}, `slot "verification_attempts" has type "text"`},
		{"extra custom action in the domain", func(p *project, c *catalogue) {
			p.Domain.Actions = append(p.Domain.Actions, "action_unblock_card")
		}, `domain action "action_unblock_card" is not served`},
		{"served action missing from the domain", func(p *project, c *catalogue) {
			p.Domain.Actions = slices.DeleteFunc(slices.Clone(p.Domain.Actions), func(a string) bool { return a == actions.ActionValidateForm })
		}, `served action "validate_card_block_form" is missing`},
		{"the server starts serving an action the domain lacks", func(p *project, c *catalogue) {
			c.Actions = append(slices.Clone(c.Actions), "action_send_sms")
		}, `served action "action_send_sms" is missing`},
		{"a new response the domain lacks", func(p *project, c *catalogue) {
			c.Responses = append(slices.Clone(c.Responses), actions.ResponseSpec{Name: "utter_card_reissued"})
		}, `response "utter_card_reissued" (emitted by the actions) is missing`},
		{"e2e test expects an utter the domain lacks", func(p *project, c *catalogue) {
			tc := &p.E2E[0].Cases[0]
			tc.Steps = append(tc.Steps, e2eStep{Utter: "utter_card_unblocked"})
		}, `expects utter "utter_card_unblocked", which the domain lacks`},
		{"e2e test sets a slot the domain lacks", func(p *project, c *catalogue) {
			tc := &p.E2E[0].Cases[0]
			tc.Steps = append(tc.Steps, e2eStep{SlotsSet: []slotAssertion{{Name: "card_pin", Value: "1234", HasValue: true}}})
		}, `sets slot "card_pin", which the domain lacks`},
		{"e2e test expects a categorical value the domain does not allow", func(p *project, c *catalogue) {
			tc := &p.E2E[0].Cases[0]
			tc.Steps = append(tc.Steps, e2eStep{SlotsSet: []slotAssertion{{Name: "block_reason", Value: "robo", HasValue: true}}})
		}, `sets slot "block_reason" to "robo"`},
		{"e2e call ids collide", func(p *project, c *catalogue) {
			f := &p.E2E[0]
			f.Metadata[f.Cases[1].Metadata] = f.Metadata[f.Cases[0].Metadata]
		}, `is also used by test case`},
		{"rule runs an action the domain lacks", func(p *project, c *catalogue) {
			p.Dialogue[0].Items[0].Steps = append(p.Dialogue[0].Items[0].Steps, dialogueStep{Action: "action_transfer_call"})
		}, `uses action "action_transfer_call", which the domain lacks`},
		{"form-conditioned mapping outside the form's required slots", func(p *project, c *catalogue) {
			p.Domain.Forms[actions.FormCardBlock] = slices.DeleteFunc(slices.Clone(p.Domain.Forms[actions.FormCardBlock]), func(s string) bool { return s == actions.SlotNationalID })
		}, `slot "national_id" has a mapping condition on form "card_block_form" but is not in its required_slots`},
		{"ask without a retry variation", func(p *project, c *catalogue) {
			p.Domain.Responses["utter_ask_card_last4"] = p.Domain.Responses["utter_ask_card_last4"][:1]
		}, `response "utter_ask_card_last4" needs a first wording and a conditional retry variation`},
		{"markdown in a spoken response", func(p *project, c *catalogue) {
			p.Domain.Responses["utter_goodbye"] = []rasaVariation{{Text: "**Gracias** por llamar."}}
		}, `response "utter_goodbye" variation 1 contains markup "**"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := loadProject(rasaProjectDir)
			c := currentCatalogue()
			tc.seed(&p, &c)
			problems := checkContract(p, c)
			if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, tc.want) }) {
				t.Errorf("seeded drift not caught: want a problem containing %q, got %q", tc.want, problems)
			}
		})
	}

	// A YAML file that does not parse, in a copy of the project.
	t.Run("YAML that does not parse", func(t *testing.T) {
		dir := copyProject(t, rasaProjectDir)
		broken := filepath.Join(dir, "data", "rules.yml")
		b, err := os.ReadFile(broken)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(broken, append(b, []byte("\n  - rule: [unclosed\n")...), 0o644); err != nil {
			t.Fatal(err)
		}
		problems := checkContract(loadProject(dir), currentCatalogue())
		if !slices.ContainsFunc(problems, func(s string) bool { return strings.Contains(s, "data/rules.yml: YAML does not parse") }) {
			t.Errorf("broken YAML not reported: %q", problems)
		}
	})
}

func copyProject(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == "models" || d.Name() == ".rasa" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}
