/* minigraph's step player as a notebook widget: the anywidget side of minigraph.show.notebook.

   StepPlayer sends player.js followed by this file as one ES module, so `minigraphPlayer`
   here is the page player's own function, not a copy. The model holds `data` (the output
   of minigraph.show.player.player_data) and `step`, the frame shown (an index into
   data.frames, which scopes never fold). Both sides move `step`: a change from Python
   shows that frame, and a step taken in the player (buttons, slider, keys) is set on the
   model and saved, so Python reads it back. */

export default {
  render({ model, el }) {
    // The arrow keys belong to the player while it has focus, not to JupyterLab's
    // command mode (which would move between cells).
    el.setAttribute("data-lm-suppress-shortcuts", "true");
    const player = minigraphPlayer(el, model.get("data"), { keys: el });
    const shown = () => Number(el.dataset.frame);

    function follow() {  // the model's step changed (from Python, or another view of it)
      if (shown() !== model.get("step")) player.showFrame(model.get("step"));
    }
    // The player writes the frame it shows into data-frame at every step.
    const watcher = new MutationObserver(() => {
      if (shown() === model.get("step")) return;
      model.set("step", shown());
      model.save_changes();
    });
    watcher.observe(el, { attributes: true, attributeFilter: ["data-frame"] });
    model.on("change:step", follow);
    follow();
    return () => {
      watcher.disconnect();
      model.off("change:step", follow);
    };
  },
};
