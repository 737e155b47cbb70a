"""The counting of each method (DESIGN §6), on ballots whose choices are already valid.

Every function here takes ``(choice, weight)`` pairs, where a ballot of weight ``w`` counts as
``w`` identical voters, and returns plain ints, lists and dicts keyed by option id.
"""
