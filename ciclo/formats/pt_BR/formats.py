"""Brazilian Portuguese: dd/mm/aaaa and 24-hour HH:MM, shown as typed (see ciclo.formats)."""

DATE_FORMAT = r"j \d\e F \d\e Y"  # 14 de maio de 2026
SHORT_DATE_FORMAT = "d/m/Y"  # 14/05/2026
TIME_FORMAT = "H:i"  # 15:30
DATETIME_FORMAT = r"j \d\e F \d\e Y à\s H:i"
SHORT_DATETIME_FORMAT = "d/m/Y H:i"
MONTH_DAY_FORMAT = r"j \d\e F"
YEAR_MONTH_FORMAT = r"F \d\e Y"
DATE_INPUT_FORMATS = ["%d/%m/%Y", "%Y-%m-%d"]
TIME_INPUT_FORMATS = ["%H:%M", "%H:%M:%S"]
DATETIME_INPUT_FORMATS = [
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%dT%H:%M:%S",
]
