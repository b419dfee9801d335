"""Which model is better: the paired comparisons (comparisons.csv) and the ranking (summary.json),
with the words that make them agree: what the smallest possible p-value of a paired test is with
this many participants, and why the ranking may mark a model as behind the best when no paired
test confirms it."""

from __future__ import annotations

import numpy as np
import pandas as pd

from bmelearn.evaluation.regression import REGRESSION_METRICS
from bmelearn.report import text
from bmelearn.report.cells import Table
from bmelearn.report.page import Item, Section
from bmelearn.report.run import RunData
from bmelearn.runs import folder as run_folder

ALPHA = 0.05  # the level of the Nemenyi critical difference (bmelearn.evaluation.statistics.rank_pipelines)
TESTS = {"exact permutation": "an exact permutation test of the mean difference over all sign flips",
         "wilcoxon signed-rank": "the Wilcoxon signed-rank test"}


def p_text(p: float) -> str:
    return "–" if not np.isfinite(p) else f"{p:.3f}"


def paired_item(comparisons: pd.DataFrame, variant: str, title: str, id: str, what: str,
                label=str, extra: tuple[str, str] | None = None) -> Item:
    """A folded table of a curve's variants against its baseline, paired over participants
    (:func:`~bmelearn.evaluation.statistics.paired_against`): ``variant`` is the column naming
    each (shown through ``label``), ``extra`` an optional (column, heading) shown before it;
    ``what`` says what the difference is."""
    rows = [[text.protocol_label(r["protocol"]), text.model_label(r["pipeline"]),
             *([f"{r[extra[0]]:g}"] if extra else []), label(r[variant]), str(r["repetitions"]), str(r["n_subjects"]),
             f"{100 * r['difference']:+.1f}", "–" if not np.isfinite(r["d_z"]) else f"{r['d_z']:.2f}",
             p_text(r["p_value"]), p_text(r["p_holm"])]
            for r in comparisons.to_dict(orient="records")]
    metric = text.metric_name(comparisons["metric"].iloc[0])
    return Item(title=title, table=Table(
        ["Evaluation", "Model", *([extra[1]] if extra else []), variant.capitalize(), "k", "Participants",
         "Difference (points)", "Effect size d_z", "p", "p (Holm)"], rows, id=id, row_headers=2,
        caption=f"{metric}: {what}, participant by participant; exact permutation test below 20 participants, else "
                "Wilcoxon signed-rank (two-sided); Holm over the comparisons of one model with the same baseline."))


def section(run: RunData) -> Section | None:
    comparisons = run.table(run_folder.COMPARISONS)
    if comparisons is None or comparisons.empty:
        return None
    name = comparisons["metric"].iloc[0]
    metric = REGRESSION_METRICS[name].metadata["label"] if run.regression else text.metric_name(name)
    difference = "{:+.3g}".format if run.regression else (lambda value: f"{100 * value:+.1f}")
    tests = [TESTS.get(t, t) for t in pd.unique(comparisons["test"]) if t != "none"]
    intro = [f"Each participant counts once: the {metric} of two models is compared participant by participant"
             + (f", with {text.join_words(tests)}, two-sided" if tests else "") + ". The p-value is the chance of a "
             "difference at least this large if the models were equally good; Holm's correction accounts for making "
             "several comparisons."]
    few = comparisons[comparisons["min_p"] >= ALPHA]
    for n, block in few.groupby("n_subjects", sort=False):
        where = "" if len(few) == len(comparisons) else f" (under {text.join_words(_labels(block['protocol']))})"
        intro.append(f"With {text.plural(int(n), 'participant')}{where}, a paired test of two models cannot give a "
                     f"p-value below {block['min_p'].max():.3f}: no pair of models can be shown to differ at the 5\u00a0% "
                     "level, however large the difference. More participants are needed to tell these models apart.")
    several_tests = comparisons["test"].nunique() > 1  # else the intro names the test
    rows = [
        [text.protocol_label(r.protocol), f"{text.model_label(r.pipeline_a)} vs {text.model_label(r.pipeline_b)}",
         str(r.n_subjects), difference(r.difference), "–" if not np.isfinite(r.d_z) else f"{r.d_z:.2f}",
         *([r.test] if several_tests else []), p_text(r.p_value), p_text(r.p_holm),
         f"{r.min_p:.3f}" if r.min_p > 0 else "–"]
        for r in comparisons.itertuples(index=False)
    ]
    caption = (f"Paired over participants, {metric}. Difference: the first model's mean minus the second's, "
               + ("in the metric's units" if run.regression else "in percentage points (positive favours the first)")
               + ". Effect size d_z: the mean difference over its standard "
               "deviation. p: two-sided; p (Holm): corrected for the comparisons of the evaluation. Smallest possible p: "
               "the lowest p-value the test can give with this many participants.")
    columns = ["Evaluation", "Comparison", "Participants", "Difference" if run.regression else "Difference (points)",
               "Effect size d_z",
               *(["Test"] if several_tests else []), "p", "p (Holm)", "Smallest possible p"]
    items = [Item(table=Table(columns, rows, id="comparisons-table", caption=caption, row_headers=2))]
    ranking = pd.DataFrame(run.summary[run_folder.SUMMARY_RANKING])
    if not ranking.empty:
        intro += _ranking_words(ranking, comparisons)
        items.append(Item(table=_ranking_table(ranking, comparisons)))
    return Section("comparison", "Which model is better?", intro=intro, items=items)


def _labels(protocols) -> list[str]:
    return [text.in_sentence(text.protocol_label(p)) for p in pd.unique(protocols)]


def _against_best(ranking: pd.DataFrame, comparisons: pd.DataFrame) -> pd.Series:
    """Per row of ``ranking``: the Holm p-value of the paired test of its model against the best
    one of its protocol (the first of the protocol's rows); NaN for the best one itself."""
    best = ranking.groupby("protocol", sort=False)["pipeline"].first()
    pairs = {(r.protocol, frozenset((r.pipeline_a, r.pipeline_b))): r.p_holm for r in comparisons.itertuples()}
    return pd.Series([pairs.get((r.protocol, frozenset((r.pipeline, best[r.protocol]))), np.nan)
                      for r in ranking.itertuples()], index=ranking.index)


def _ranking_table(ranking: pd.DataFrame, comparisons: pd.DataFrame) -> Table:
    paired = _against_best(ranking, comparisons)
    first = ~ranking["protocol"].duplicated()
    rows = [[text.protocol_label(r.protocol), text.model_label(r.pipeline), f"{r.mean_rank:.2f}",
             f"{r.critical_difference:.2f}", p_text(r.friedman_p), "no" if r.tied_with_best else "yes",
             "(best)" if is_best else p_text(p)]
            for r, p, is_best in zip(ranking.itertuples(index=False), paired, first, strict=True)]
    caption = ("Mean rank of each model over the participants (1 = best). Friedman p: whether the models differ at all "
               f"(all of them together). Behind the best: the mean rank is further than the critical difference (Nemenyi, "
               f"{ALPHA:.0%}) from the best one's. Paired p: the Holm-corrected p of the paired test of this model "
               "against the best one (table above).")
    return Table(["Evaluation", "Model", "Mean rank", "Critical difference", "Friedman p", "Behind the best",
                  "Paired p against the best"], rows, id="ranking-table", caption=caption, row_headers=2)


def _ranking_words(ranking: pd.DataFrame, comparisons: pd.DataFrame) -> list[str]:
    """How to read the ranking, and where it says more than the paired tests, why."""
    words = ["The ranking uses all the models at once: each model's rank within each participant, averaged. The "
             "Friedman test asks whether the models differ at all, and the Nemenyi critical difference marks the "
             "models whose mean rank is too far behind the best one's."]
    paired = _against_best(ranking, comparisons)
    unconfirmed = ranking[~ranking["tied_with_best"].astype(bool) & ~(paired < ALPHA)]
    if not unconfirmed.empty:
        friedman = unconfirmed.groupby("protocol", sort=False)["friedman_p"].first()
        where = text.join_words([text.in_sentence(text.protocol_label(p)) + (f" (Friedman p = {f:.3f})" if np.isfinite(f)
                                                                              else "") for p, f in friedman.items()])
        words.append(
            f"Under {where}, the ranking marks {text.join_words([text.model_label(m) for m in unconfirmed['pipeline']])} "
            f"as behind the best although the paired test against the best does not reach p < {ALPHA:g}. The two "
            "answer different questions: a model that ranks last for nearly every participant is unlikely by chance "
            "when all the models are ranked together, but with this few participants neither a paired test nor the "
            "critical difference, which is a large-sample approximation, can show which pair differs. Read such a "
            "mark as a tendency to confirm with more participants, not as proof that the model is worse.")
    return words
