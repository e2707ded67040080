"""``tokdash serve``: what tokdash knows, as metrics for the monitoring stack a team already runs.

A long-running process keeps the index up to date from the watcher -- the same feed
and catalog as the dashboard, without Textual -- and exposes the totals:

- Prometheus text format at ``/metrics`` (:mod:`tokdash.serve.exposition`, with the
  official ``prometheus_client``), and optionally
- an OTLP push to an OpenTelemetry collector (:mod:`tokdash.serve.otlp`).

The parts, bottom up:

- :mod:`tokdash.serve.labels`: the ``[metrics]`` table of the config file and the
  label policy (machine name, project names kept, hashed or dropped, every value
  sanitised). Labels are agent, project and model only: never a session id or title.
- :mod:`tokdash.serve.totals`: pure aggregation of the catalog's summaries into
  counter values that equal ``report sessions --json`` and never go down within a
  process, plus the sessions-by-status gauges.
- :mod:`tokdash.serve.gauges`: the extension point for gauges other work provides
  (plan-window and budget use): :data:`~tokdash.serve.gauges.GAUGE_PROVIDERS`.
- :mod:`tokdash.serve.runner`: the live loop (feed on one worker thread, watcher,
  catalog, snapshots, signals).

``prometheus_client`` and the OpenTelemetry SDK are optional extras
(``tokdash[serve]``, ``tokdash[otlp]``); only the modules that need them import them.
"""
