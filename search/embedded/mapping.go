package embedded

import (
	"fmt"
	"slices"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/de"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/lang/fr"
	"github.com/blevesearch/bleve/v2/analysis/lang/ru"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"

	"github.com/hotline-hub/hotline/search"
)

// The index holds two document types, told apart by the "type" field.
//
// A conversation is one bleve document (not one per entry): its attributes
// are keyword fields, so that filters, facets and the dossier see the
// conversation's current status, queue and agent without joins, and each
// entry's text goes into the text field of its language ("text_fr",
// "text_ru", … or "text_xx" for unknown languages), one array element per
// entry. Every text field names its analyzer explicitly, so no entry is
// ever analysed by a default that drops stemming; the array position of a
// match (with the term vectors) says which entry it came from, which is
// how highlights point at entries. The whole conversation is stored as
// JSON in two stored-only fields ("_conv" without entries, which is all a
// dossier page loads, and "_entries").
//
// A contact is a document with its tenant, name (accent- and
// case-folded), lower-cased emails and E.164 phones, stored as JSON in
// "_contact".
const (
	typeConversation = "conversation"
	typeContact      = "contact"

	fieldType         = "type"
	fieldTenant       = "tenant"
	fieldContactID    = "contact_id"
	fieldChannel      = "channel"
	fieldQueue        = "queue"
	fieldAgent        = "agent_id"
	fieldStatus       = "status"
	fieldTags         = "tags"
	fieldDay          = "day"
	fieldStarted      = "started"
	fieldLastActivity = "last_activity"
	fieldConv         = "_conv"
	fieldEntries      = "_entries"

	fieldCTenant = "c_tenant"
	fieldCName   = "c_name"
	fieldCEmail  = "c_email"
	fieldCPhone  = "c_phone"
	fieldContact = "_contact"

	// langOther is the pseudo-language of entries in a language without
	// stemming: words are only split and lower-cased.
	langOther = "xx"

	analyzerPlain  = "hotline_plain"
	analyzerName   = "hotline_name"
	analyzerGerman = "hotline_de"
)

// textLangs are the languages with a text field, langOther last.
var textLangs = []string{"fr", "en", "ru", "de", langOther}

// analyzers maps each text language to its analyzer.
var analyzers = map[string]string{
	"fr":      fr.AnalyzerName,
	"en":      en.AnalyzerName,
	"ru":      ru.AnalyzerName,
	"de":      analyzerGerman,
	langOther: analyzerPlain,
}

func textField(lang string) string { return "text_" + lang }

// entryLang is the text language of e in c.
func entryLang(c *search.Conversation, e *search.Entry) string {
	l := e.Language
	if l == "" {
		l = c.Language
	}
	if slices.Contains(search.Languages, l) {
		return l
	}
	return langOther
}

// newMapping builds the index mapping described above.
func newMapping() (*mapping.IndexMappingImpl, error) {
	im := bleve.NewIndexMapping()
	im.TypeField = fieldType
	im.DefaultAnalyzer = analyzerPlain
	im.IndexDynamic = false
	im.StoreDynamic = false
	im.DocValuesDynamic = false
	if err := im.AddCustomAnalyzer(analyzerPlain, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("embedded: analyzer %s: %w", analyzerPlain, err)
	}
	if err := im.AddCustomAnalyzer(analyzerName, map[string]any{
		"type":          custom.Name,
		"char_filters":  []any{asciifolding.Name},
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name},
	}); err != nil {
		return nil, fmt.Errorf("embedded: analyzer %s: %w", analyzerName, err)
	}

	// bleve's stock "de" analyzer stems lightly and leaves "Anrufers"
	// apart from "Anrufer"; the same chain with the Snowball German stemmer
	// (also from bleve/analysis/lang/de) brings them together.
	if err := im.AddCustomAnalyzer(analyzerGerman, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, de.StopName, de.NormalizeName, de.SnowballStemmerName},
	}); err != nil {
		return nil, fmt.Errorf("embedded: analyzer %s: %w", analyzerGerman, err)
	}

	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = docValues
		return f
	}
	date := func() *mapping.FieldMapping {
		f := bleve.NewDateTimeFieldMapping()
		f.Store = false
		f.IncludeInAll = false
		f.DocValues = true
		return f
	}
	stored := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Index = false
		f.Store = true
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = false
		return f
	}

	conv := bleve.NewDocumentStaticMapping()
	conv.AddFieldMappingsAt(fieldTenant, kw(false))
	conv.AddFieldMappingsAt(fieldContactID, kw(false))
	conv.AddFieldMappingsAt(fieldChannel, kw(true))
	conv.AddFieldMappingsAt(fieldQueue, kw(false))
	conv.AddFieldMappingsAt(fieldAgent, kw(false))
	conv.AddFieldMappingsAt(fieldStatus, kw(true))
	conv.AddFieldMappingsAt(fieldTags, kw(false))
	conv.AddFieldMappingsAt(fieldDay, kw(true))
	conv.AddFieldMappingsAt(fieldStarted, date())
	conv.AddFieldMappingsAt(fieldLastActivity, date())
	for _, l := range textLangs {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzers[l]
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = true // phrases and highlight offsets
		f.DocValues = false
		conv.AddFieldMappingsAt(textField(l), f)
	}
	conv.AddFieldMappingsAt(fieldConv, stored())
	conv.AddFieldMappingsAt(fieldEntries, stored())
	conv.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping()) // no composite field
	im.AddDocumentMapping(typeConversation, conv)

	ct := bleve.NewDocumentStaticMapping()
	ct.AddFieldMappingsAt(fieldCTenant, kw(false))
	name := bleve.NewTextFieldMapping()
	name.Analyzer = analyzerName
	name.Store = false
	name.IncludeInAll = false
	name.IncludeTermVectors = false
	name.DocValues = false
	ct.AddFieldMappingsAt(fieldCName, name)
	ct.AddFieldMappingsAt(fieldCEmail, kw(false))
	ct.AddFieldMappingsAt(fieldCPhone, kw(false))
	ct.AddFieldMappingsAt(fieldContact, stored())
	ct.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())
	im.AddDocumentMapping(typeContact, ct)

	// Anything else is not indexed at all.
	im.DefaultMapping = bleve.NewDocumentDisabledMapping()
	if err := im.Validate(); err != nil {
		return nil, fmt.Errorf("embedded: mapping: %w", err)
	}
	return im, nil
}

// convDocID and contactDocID keep tenants apart in the id space too.
func convDocID(tenant, id string) string    { return "v\x00" + tenant + "\x00" + id }
func contactDocID(tenant, id string) string { return "k\x00" + tenant + "\x00" + id }

// day is the UTC day of t as the facet counts it.
func day(t time.Time) string { return t.UTC().Format(time.DateOnly) }
