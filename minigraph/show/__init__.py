"""The teaching layer: what a learner sees of a graph, kept apart from the engine it shows.

Drawings (render: what a learner calls; scene: what is drawn; fitting: which way it fits the
page; dot: the text Graphviz lays out; rows: the numbers in a box or on an edge; heatmap:
arrays too big to print, as pictures), the passes as step records and their narration
(steps, narration), and the step player as a page (player, with player.js and player.css) or
a notebook widget (notebook, with notebook.js). The engine never imports from here except to
draw on request (`Graph.draw`); `minigraph` re-exports what a learner calls (`mg.draw`,
`mg.explain`, ...).
"""
