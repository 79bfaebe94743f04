/*
 * The language analyzers Hotline's indexer names in its mappings (english,
 * french, german, russian), for the Elasticsearch test peer.
 *
 * Elasticsearch ships these analyzers in its analysis-common module, which
 * Elastic does not publish to Maven Central; the distribution that is there
 * (integ-test-zip) has only the server and a few modules. This plugin
 * registers the same Lucene analyzers under the same names, built the way
 * analysis-common builds them: Lucene's analyzer for the language, with the
 * "stopwords", "stopwords_path" and "stem_exclusion" settings parsed by the
 * server's own Analysis helpers. Nothing else of analysis-common (token
 * filters such as asciifolding or stemmer, other languages) is provided.
 *
 * install.sh compiles this file against the distribution's lib/ and installs
 * it as plugins/hotline-language-analyzers.
 */
package hotline.testpeer.elasticsearch;

import java.util.Map;
import java.util.function.BiFunction;

import org.apache.lucene.analysis.Analyzer;
import org.apache.lucene.analysis.CharArraySet;
import org.apache.lucene.analysis.de.GermanAnalyzer;
import org.apache.lucene.analysis.en.EnglishAnalyzer;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.apache.lucene.analysis.ru.RussianAnalyzer;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.index.analysis.AbstractIndexAnalyzerProvider;
import org.elasticsearch.index.analysis.Analysis;
import org.elasticsearch.index.analysis.AnalyzerProvider;
import org.elasticsearch.indices.analysis.AnalysisModule.AnalysisProvider;
import org.elasticsearch.plugins.AnalysisPlugin;
import org.elasticsearch.plugins.Plugin;

/** Registers the english, french, german and russian analyzers. */
public final class LanguageAnalyzersPlugin extends Plugin implements AnalysisPlugin {

    @Override
    public Map<String, AnalysisProvider<AnalyzerProvider<? extends Analyzer>>> getAnalyzers() {
        return Map.of(
            "english", language(EnglishAnalyzer.getDefaultStopSet(), EnglishAnalyzer::new),
            "french", language(FrenchAnalyzer.getDefaultStopSet(), FrenchAnalyzer::new),
            "german", language(GermanAnalyzer.getDefaultStopSet(), GermanAnalyzer::new),
            "russian", language(RussianAnalyzer.getDefaultStopSet(), RussianAnalyzer::new)
        );
    }

    /**
     * A provider building one language's analyzer from its stop words (the
     * language's default set unless the analyzer's settings name others) and
     * stem exclusions (none by default).
     */
    private static AnalysisProvider<AnalyzerProvider<? extends Analyzer>> language(
        CharArraySet defaultStopWords,
        BiFunction<CharArraySet, CharArraySet, ? extends Analyzer> build
    ) {
        return (indexSettings, env, name, settings) -> new Provider(
            name,
            settings,
            build.apply(stopWords(env, settings, defaultStopWords), Analysis.parseStemExclusion(settings, CharArraySet.EMPTY_SET))
        );
    }

    private static CharArraySet stopWords(Environment env, Settings settings, CharArraySet defaults) {
        return Analysis.parseStopWords(env, settings, defaults);
    }

    /** Hands out one analyzer instance, as analysis-common's providers do. */
    private static final class Provider extends AbstractIndexAnalyzerProvider<Analyzer> {
        private final Analyzer analyzer;

        Provider(String name, Settings settings, Analyzer analyzer) {
            super(name, settings);
            this.analyzer = analyzer;
        }

        @Override
        public Analyzer get() {
            return analyzer;
        }
    }
}
