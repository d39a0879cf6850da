"""The problems the sync finds: the catalogue of cases, the error rows, their counts."""
