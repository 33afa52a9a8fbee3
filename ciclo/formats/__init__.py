"""Ciclo's date and time formats per language (settings.FORMAT_MODULE_PATH).

One rule in both languages: a date is day/month/year and a time is 24-hour HH:MM, shown
as Ciclo parses them (every date field and filter also takes ISO yyyy-mm-dd, what a
browser's date input sends). English is written day first too, so "05/04/2026" means
5 April wherever it is shown or typed. What a format module leaves out comes from Django's.
"""
