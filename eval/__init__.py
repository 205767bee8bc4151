"""Quality evaluation of the story clusterer: ``python -m eval`` (``make eval``).

Modules, in the order the data flows:

* :mod:`eval.records` — the labelled document every data set yields;
* :mod:`eval.textgen` — fictional outlets, furniture, own sentences, template stories;
* :mod:`eval.syndication` — the syndication generator (copies, rewrites, hard negatives);
* :mod:`eval.datasets` — generated-bbc, ecbplus, counter, helsinki (read from ../shared);
* :mod:`eval.baselines` — the product (StoryClusterer) and two baselines, one interface;
* :mod:`eval.overlap` — exact shingle overlap and the verbatim-paragraph rule;
* :mod:`eval.metrics` — pairwise P/R/F1, per-kind recall, false merges, per-set reports;
* :mod:`eval.report` — console tables and ``docs/QUALITY.md``;
* :mod:`eval.credits` — credit extraction against hand labels of real paragraphs
  (``eval/data/credit_labels.jsonl``: references and hashes, never the text) and our own
  sentences (``tests/data/credits/sentences.jsonl``);
* :mod:`eval.provenance` — first reporter under lying publisher clocks: the generator's
  stories observed on per-outlet fetch schedules, with clock faults.

Only the public API of :class:`aggregator.dedup.StoryClusterer` and
:mod:`aggregator.credits` is used, so the harness survives rewrites of the engine.
"""
