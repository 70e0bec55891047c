# Boxwood's IPython start-up hook, run in every Python kernel the agent starts (IPKernelApp.exec_files).
# It registers two extra display formats that the E2B protocol defines:
#   e2b/data  - a pandas DataFrame as {column: [values]}
#   e2b/chart - a matplotlib Figure as structured chart data (line, scatter, bar, pie, box plots)
# Everything is defined inside one function and removed afterwards, so the user's namespace stays clean.


def __boxwood_install():
    import json
    import math
    import re

    ip = get_ipython()  # noqa: F821 - provided by IPython
    if ip is None:
        return
    from IPython.core.formatters import BaseFormatter
    from traitlets import ObjectName, Unicode

    unit_pattern = re.compile(r"\s\((.*?)\)|\[(.*?)\]")

    def text_or_none(value):
        return value if value else None

    def unit_of(label):
        if not label:
            return None
        match = unit_pattern.search(label)
        if not match:
            return None
        return match.group(1) or match.group(2)

    def number(value):
        value = float(value)
        if math.isnan(value) or math.isinf(value):
            return None
        rounded = round(value, 10)
        return int(rounded) if rounded.is_integer() and abs(rounded) < 2 ** 53 else rounded

    def axis_kind(axis):
        import matplotlib.category as category
        import matplotlib.dates as mdates

        getter = getattr(axis, "get_converter", None)
        converter = getter() if getter else getattr(axis, "converter", None)
        if isinstance(converter, category.StrCategoryConverter):
            return "categorical"
        if isinstance(converter, (mdates.DateConverter, getattr(mdates, "_SwitchableDateConverter", ()))) or \
                isinstance(axis.get_major_formatter(), (mdates.AutoDateFormatter, mdates.DateFormatter,
                                                         mdates.ConciseDateFormatter)):
            return "datetime"
        return axis.get_scale()

    def categorical_names(axis):
        getter = getattr(axis, "get_units", None)
        units = getter() if getter else None
        mapping = getattr(units, "_mapping", None)  # UnitData maps category -> position
        if not mapping:
            return {}
        return {float(v): str(k) for k, v in mapping.items()}

    def value_on(axis, kind, value, names):
        import matplotlib.dates as mdates

        if kind == "datetime":
            try:
                return mdates.num2date(float(value)).isoformat()
            except (TypeError, ValueError, OverflowError):
                return str(value)
        if kind == "categorical":
            if isinstance(value, str):
                return value
            return names.get(float(value), str(value))
        try:
            return number(value)
        except (TypeError, ValueError):
            return str(value)

    def base_chart(kind, ax):
        return {"type": kind, "title": text_or_none(ax.get_title()), "elements": []}

    def chart_2d(kind, ax):
        chart = base_chart(kind, ax)
        x_label, y_label = text_or_none(ax.get_xlabel()), text_or_none(ax.get_ylabel())
        chart.update({"x_label": x_label, "y_label": y_label, "x_unit": unit_of(x_label), "y_unit": unit_of(y_label)})
        return chart

    def swap_axes(chart):
        chart["x_label"], chart["y_label"] = chart["y_label"], chart["x_label"]
        chart["x_unit"], chart["y_unit"] = chart["y_unit"], chart["x_unit"]

    def point_chart(kind, ax, series):
        chart = chart_2d(kind, ax)
        for letter, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            scale = axis_kind(axis)
            names = categorical_names(axis)
            chart[letter + "_scale"] = scale
            chart[letter + "_ticks"] = [value_on(axis, scale, t, names) for t in axis.get_ticklocs()]
            chart[letter + "_tick_labels"] = [t.get_text() for t in axis.get_ticklabels()]
        x_kind, y_kind = chart["x_scale"], chart["y_scale"]
        x_names, y_names = categorical_names(ax.xaxis), categorical_names(ax.yaxis)
        for label, xs, ys in series:
            points = [[value_on(ax.xaxis, x_kind, x, x_names), value_on(ax.yaxis, y_kind, y, y_names)]
                      for x, y in zip(xs, ys)]
            chart["elements"].append({"label": label, "points": points})
        return chart

    def line_chart(ax):
        series = []
        for line in ax.get_lines():
            xs, ys = line.get_xdata(orig=False), line.get_ydata(orig=False)
            series.append((line.get_label(), list(xs), list(ys)))
        return point_chart("line", ax, series)

    def scatter_chart(ax):
        from matplotlib.collections import PathCollection

        series = []
        for collection in ax.collections:
            if isinstance(collection, PathCollection):
                offsets = collection.get_offsets()
                series.append((collection.get_label(), [p[0] for p in offsets], [p[1] for p in offsets]))
        return point_chart("scatter", ax, series)

    def bar_chart(ax, containers):
        chart = chart_2d("bar", ax)
        horizontal = all(getattr(c, "orientation", "vertical") == "horizontal" for c in containers)
        if horizontal:
            swap_axes(chart)
        axis = ax.yaxis if horizontal else ax.xaxis
        scale = axis_kind(axis)
        names = categorical_names(axis)
        tick_names = {}
        for loc, text in zip(axis.get_ticklocs(), axis.get_ticklabels()):
            if text.get_text():
                tick_names[round(float(loc), 6)] = text.get_text()
        for container in containers:
            group = container.get_label()
            values = getattr(container, "datavalues", None)
            for i, rect in enumerate(container.patches):
                if horizontal:
                    position, size = rect.get_y() + rect.get_height() / 2, rect.get_width()
                else:
                    position, size = rect.get_x() + rect.get_width() / 2, rect.get_height()
                value = values[i] if values is not None and i < len(values) else size
                key = round(float(position), 6)
                label = tick_names.get(key)
                if label is None:
                    label = str(value_on(axis, scale, position, names))
                chart["elements"].append({"label": label, "group": group, "value": value_on(None, "linear", value, {})})
        return chart

    def pie_chart(ax, wedges):
        chart = base_chart("pie", ax)
        for wedge in wedges:
            # Wedge angles are stored as float32: 4 decimals undo the noise (90% is 324 degrees, not 323.99999).
            chart["elements"].append({"label": wedge.get_label(),
                                      "angle": number(round(abs(wedge.theta2 - wedge.theta1), 4)),
                                      "radius": number(round(wedge.r, 4))})
        return chart

    def box_chart(ax, plots):
        chart = chart_2d("box_and_whisker", ax)
        horizontal = any(plot.get("horizontal") for plot in plots)
        if horizontal:
            swap_axes(chart)
        axis = ax.yaxis if horizontal else ax.xaxis
        tick_names = {round(float(loc), 6): t.get_text() for loc, t in zip(axis.get_ticklocs(), axis.get_ticklabels())}

        def values(artist):
            if hasattr(artist, "get_path"):
                vertices = artist.get_path().vertices
                data = vertices[:, 0] if horizontal else vertices[:, 1]
                position = vertices[:, 1] if horizontal else vertices[:, 0]
            else:
                data = artist.get_xdata() if horizontal else artist.get_ydata()
                position = artist.get_ydata() if horizontal else artist.get_xdata()
            return [float(v) for v in data], [float(v) for v in position]

        for plot in plots:
            artists = plot["artists"]
            for i, box in enumerate(artists.get("boxes", [])):
                box_values, box_positions = values(box)
                whiskers = artists.get("whiskers", [])[2 * i:2 * i + 2]
                whisker_ends = [values(w)[0][-1] for w in whiskers]
                median = values(artists["medians"][i])[0][0] if i < len(artists.get("medians", [])) else None
                fliers = values(artists["fliers"][i])[0] if i < len(artists.get("fliers", [])) else []
                centre = round((min(box_positions) + max(box_positions)) / 2, 6)
                label = tick_names.get(centre) or str(i + 1)
                chart["elements"].append({
                    "label": label,
                    "min": number(min(whisker_ends)) if whisker_ends else number(min(box_values)),
                    "first_quartile": number(min(box_values)),
                    "median": number(median) if median is not None else None,
                    "third_quartile": number(max(box_values)),
                    "max": number(max(whisker_ends)) if whisker_ends else number(max(box_values)),
                    "outliers": [number(v) for v in fliers],
                })
        return chart

    def axes_chart(ax):
        from matplotlib.container import BarContainer
        from matplotlib.patches import Wedge

        boxplots = getattr(ax, "_boxwood_boxplots", None)
        if boxplots:
            return box_chart(ax, boxplots)
        wedges = [p for p in ax.patches if isinstance(p, Wedge)]
        if wedges:
            return pie_chart(ax, wedges)
        bars = [c for c in ax.containers if isinstance(c, BarContainer)]
        if bars:
            return bar_chart(ax, bars)
        if ax.get_lines():
            return line_chart(ax)
        from matplotlib.collections import PathCollection

        if any(isinstance(c, PathCollection) for c in ax.collections):
            return scatter_chart(ax)
        return base_chart("unknown", ax)

    def figure_chart(figure):
        axes = [ax for ax in figure.get_axes() if ax.get_visible()]
        if not axes:
            return None
        try:
            figure.draw_without_rendering()  # tick labels are only final after a draw
        except Exception:
            pass
        if len(axes) == 1:
            return axes_chart(axes[0])
        suptitle = getattr(figure, "_suptitle", None)
        return {"type": "superchart", "title": text_or_none(suptitle.get_text() if suptitle else ""),
                "elements": [axes_chart(ax) for ax in axes]}

    def dataframe_data(frame):
        return {str(column): json.loads(frame[column].to_json(orient="values", date_format="iso"))
                for column in frame.columns}

    class ChartFormatter(BaseFormatter):
        format_type = Unicode("e2b/chart")
        print_method = ObjectName("_repr_e2b_chart_")
        _return_type = (dict,)

        def __call__(self, obj):
            figure_type = getattr(__import__("sys").modules.get("matplotlib.figure"), "Figure", None)
            if figure_type is not None and isinstance(obj, figure_type):
                try:
                    return figure_chart(obj)
                except Exception:
                    return None  # chart data is a bonus: never break the display of the figure itself
            return None

    class DataFormatter(BaseFormatter):
        format_type = Unicode("e2b/data")
        print_method = ObjectName("_repr_e2b_data_")
        _return_type = (dict,)

        def __call__(self, obj):
            frame_type = getattr(__import__("sys").modules.get("pandas"), "DataFrame", None)
            if frame_type is not None and isinstance(obj, frame_type):
                try:
                    return dataframe_data(obj)
                except Exception:
                    return None
            return None

    # ipykernel sends whatever a stream buffered in one message, however big (a flood can make one of tens of MB).
    # The agent drops messages over 8 MiB, so keep each one to about 1 MiB: split big writes, flush big buffers.
    def bound_messages(stream, limit=1 << 20):
        write, flush = stream.write, stream.flush

        def bounded_write(text):
            if isinstance(text, str) and len(text) > limit:
                for start in range(0, len(text), limit):
                    write(text[start:start + limit])
                    flush()
                return len(text)
            written = write(text)
            buffer = getattr(stream, "_buffer", None)
            if buffer is not None and hasattr(buffer, "tell") and buffer.tell() > limit:
                flush()
            return written

        try:
            stream.write = bounded_write
        except (AttributeError, TypeError):
            pass

    import sys

    for stream in (sys.stdout, sys.stderr):
        if type(stream).__name__ == "OutStream":
            bound_messages(stream)

    formatters = ip.display_formatter.formatters
    formatters["e2b/chart"] = ChartFormatter(parent=ip.display_formatter)
    formatters["e2b/data"] = DataFormatter(parent=ip.display_formatter)

    # Box plots cannot be told apart from lines and patches after the fact, so remember what bxp drew.
    def remember_boxplots(module):
        from matplotlib.axes import Axes

        original = Axes.bxp
        if getattr(original, "_boxwood", False):
            return

        def bxp(self, *args, **kwargs):
            artists = original(self, *args, **kwargs)
            horizontal = kwargs.get("vert") is False or kwargs.get("orientation") == "horizontal"
            self.__dict__.setdefault("_boxwood_boxplots", []).append({"artists": artists, "horizontal": horizontal})
            return artists

        bxp._boxwood = True
        Axes.bxp = bxp

    import sys

    if "matplotlib.axes" in sys.modules:
        remember_boxplots(sys.modules["matplotlib.axes"])
    else:
        # Import matplotlib lazily (it costs ~0.3 s): patch it the moment the user imports it.
        import importlib.abc
        import importlib.machinery

        class Hook(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name != "matplotlib.axes":
                    return None
                sys.meta_path.remove(self)
                spec = importlib.machinery.PathFinder.find_spec(name, path)
                if spec is None or spec.loader is None:
                    return spec
                loader = spec.loader
                original_exec = loader.exec_module

                def exec_module(module):
                    original_exec(module)
                    try:
                        remember_boxplots(module)
                    except Exception:
                        pass

                loader.exec_module = exec_module
                return spec

        sys.meta_path.insert(0, Hook())


__boxwood_install()
del __boxwood_install
