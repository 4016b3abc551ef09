"""Cross-year run reports: compute plain data (:mod:`avs.report.data`), then render it
(:mod:`avs.report.render`, Jinja templates in ``templates/``)."""
