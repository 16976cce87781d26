"""/report: a period of a chat's history as an XLSX workbook and a chart.

- :mod:`bot.reports.period` reads the period a person asked for (or says plainly why not);
- :mod:`bot.reports.workbook` writes the workbook (openpyxl), :mod:`bot.reports.chart` the PNG
  (matplotlib, Agg). Both libraries are imported inside their functions, only when a report is
  made: `import bot.app` does not load them and an idle bot does not carry them
  (tests/unit/test_architecture.py checks it).
"""
