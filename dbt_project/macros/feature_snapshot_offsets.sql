{#-
    The feature snapshot offsets, in days before the run's as-of date: 0 (the run's date)
    and each of the var `feature_snapshot_offsets_days`, without repeats. A negative offset
    (a date after the as-of date, whose facts a build does not have) fails the compilation.
-#}
{% macro feature_snapshot_offsets() -%}
    {%- set offsets = [0] -%}
    {%- for offset in var('feature_snapshot_offsets_days') or [] -%}
        {%- if offset | int < 0 -%}
            {{ exceptions.raise_compiler_error(
                'feature_snapshot_offsets_days: ' ~ offset ~ ' is after the as-of date'
            ) }}
        {%- elif offset | int not in offsets -%}
            {%- do offsets.append(offset | int) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ return(offsets) }}
{%- endmacro %}
