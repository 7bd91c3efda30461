"""What a run writes, apart from deciding it: checklist.json and checklist.md (`checklist_files`),
the checklist table and links in pytest-html's report.html (`report_html`), the release summary a
person reads (`summary` data, `key_figures`, `summary_html` and `summary_style`), the charts
(`charts` specs drawn by `chart_svg`), the comparison with a previous run (`baseline`), and a
screenshot of a page in headless Chromium (`screenshot`)."""
