"""Outputs: pure feed renderers, the JSON serializers, and the web app (feeds, API, pages).

``serialize`` is the single definition of the JSON contract; ``feed`` renders RSS, Atom
and JSON Feed; ``pages`` and ``timeline`` draw the HTML; ``web.create_app`` serves it all.
"""
