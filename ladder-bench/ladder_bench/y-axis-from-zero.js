/* A flot plugin that ladder-bench history adds to asv's page: every chart's y axis starts
 * at zero. asv starts it there for times and sizes only; a track_ benchmark's axis is
 * fitted to its data, so an instruction count that wobbles by 0.003% fills the chart as
 * if it jumped. Left alone: the charts asv already starts at zero (or below), its log
 * and reference scales (an axis with a transform), and "zoom y axis", which asks for the
 * data's range. It runs in flot's processOptions hook, before the axes are laid out. */
(function ($) {
    "use strict";

    // The headroom asv leaves above its own charts from zero.
    var HEADROOM = 1.3;

    function zoomed() {
        var query = window.location.hash.split("?")[1] || "";
        return new URLSearchParams(query).getAll("y-axis-scale").indexOf("zoom") >= 0;
    }

    function fromZero(plot, options) {
        var axis = options.yaxes[0];
        if (!axis || axis.transform || typeof axis.min !== "number" || axis.min <= 0) {
            return;
        }
        if (zoomed()) {
            return;
        }
        axis.min = 0;
        if (typeof axis.max === "number") {
            axis.max *= HEADROOM;
        }
    }

    $.plot.plugins.push({
        init: function (plot) {
            plot.hooks.processOptions.push(fromZero);
        },
        name: "y-axis-from-zero",
        version: "1.0"
    });
})(jQuery);
