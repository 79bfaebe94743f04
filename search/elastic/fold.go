package elastic

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// fold lower-cases s and strips the diacritics of Latin letters ("Zoé
// Müller" → "zoe muller"), like Lucene's ASCIIFoldingFilter, but computed
// here: Elasticsearch's asciifolding filter is in the analysis-common
// module, which a cluster may not have. Contacts are indexed with a folded
// copy of their name and name queries are folded the same way, so "Zoe",
// "ZOÉ" and "zoé" find each other. Cyrillic keeps its letters ("й" is not
// "и"), except "ё", commonly written "е".
func fold(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range norm.NFC.String(strings.ToLower(s)) {
		if rep, ok := foldSpecial[r]; ok {
			b.WriteString(rep)
			continue
		}
		if r < 0x80 || !unicode.Is(unicode.Latin, r) {
			b.WriteRune(r)
			continue
		}
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, d) {
				b.WriteRune(d)
			}
		}
	}
	return b.String()
}

// foldSpecial are letters that fold without a canonical decomposition.
var foldSpecial = map[rune]string{
	'ß': "ss", 'æ': "ae", 'œ': "oe", 'ø': "o", 'ł': "l", 'đ': "d", 'ð': "d", 'þ': "th", 'ı': "i", 'ё': "е",
}
