{#-
    Cross-database building blocks: one public macro each, dispatched to a
    `duckdb__` version where DuckDB has a faster or different idiom and to a `default__`
    version in PostgreSQL SQL (any supported version: without `pg_input_is_valid`, which came
    in 16, a value is cast only after a pattern says it has the shape of its type). Other
    warehouses add their own `<adapter>__` versions. dbt's own cross-database macros
    (`dbt.dateadd`, `dbt.datediff`, ...) cover the rest.
-#}

{#- True where the text matches the regular expression somewhere (case-sensitive). -#}
{% macro regexp_like(expr, pattern) -%}
    {{ return(adapter.dispatch('regexp_like')(expr, pattern)) }}
{%- endmacro %}

{% macro default__regexp_like(expr, pattern) -%}
    ({{ expr }} ~ '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regexp_like(expr, pattern) -%}
    regexp_matches({{ expr }}, '{{ pattern }}')
{%- endmacro %}

{#-
    A JSON text column as the document `json_extract_text` reads. PostgreSQL parses it here,
    once (`jsonb`); DuckDB keeps the text, as its extraction parses one document for a whole
    batch of paths. Select it in a CTE declared `{{ compute_once() }}`: PostgreSQL inlines a
    CTE read once and would otherwise repeat the cast at every path.
-#}
{% macro json_document(json_col) -%}
    {{ return(adapter.dispatch('json_document')(json_col)) }}
{%- endmacro %}

{% macro default__json_document(json_col) -%}
    cast({{ json_col }} as jsonb)
{%- endmacro %}

{% macro duckdb__json_document(json_col) -%}
    {{ json_col }}
{%- endmacro %}

{#-
    Fresh statistics for the planner once a model's table is built (a post-hook on every
    model). PostgreSQL plans from statistics that autovacuum gathers a while after a table
    changes; dbt reads a table the moment it is built. Without them PostgreSQL guessed a few
    rows for identity's account ids and joined 100k CRM ids to 80k user ids in a nested
    loop: `int_identity__edges` ran for minutes where, analyzed, it takes 3 s (100k
    customers). DuckDB keeps its statistics as it writes.
-#}
{% macro analyze_for_planner() -%}
    {{ return(adapter.dispatch('analyze_for_planner')()) }}
{%- endmacro %}

{% macro default__analyze_for_planner() -%}
    {%- if model.config.materialized in ('table', 'incremental') -%}
        analyze {{ this }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__analyze_for_planner() -%}
{%- endmacro %}

{#-
    `materialized` where the database would otherwise compute a CTE's columns again at each
    use. PostgreSQL inlines a CTE read once and substitutes its expressions into the query
    that reads it: a JSON document cast once per path, a parsed timestamp once per formula
    that uses it. At 100k customers `stg_web__events` took 826 s so. DuckDB computes a
    repeated expression once itself, and materializing would copy the table.
-#}
{% macro compute_once() -%}
    {{ return(adapter.dispatch('compute_once')()) }}
{%- endmacro %}

{% macro default__compute_once() -%}
    materialized
{%- endmacro %}

{% macro duckdb__compute_once() -%}
{%- endmacro %}

{#-
    The text at a dotted key path ('campaign.source') of a document from `json_document`;
    null when absent. `batch` (optional) lists every path the model reads from the same
    column: DuckDB then parses the document once for all of them (the repeated list
    expression is computed once), about twice as fast as one parse per path on a large
    clickstream.
-#}
{% macro json_extract_text(json_col, path, batch=none) -%}
    {{ return(adapter.dispatch('json_extract_text')(json_col, path, batch)) }}
{%- endmacro %}

{% macro default__json_extract_text(json_col, path, batch=none) -%}
    ({{ json_col }} #>> '{{ "{" ~ path.split(".") | join(",") ~ "}" }}')
{%- endmacro %}

{% macro duckdb__json_extract_text(json_col, path, batch=none) -%}
    {%- if batch -%}
        json_extract_string({{ json_col }}, [
        {%- for item in batch -%}
            '{{ _json_path(item) }}'{{ ", " if not loop.last }}
        {%- endfor -%}
        ])[{{ batch.index(path) + 1 }}]
    {%- else -%}
        json_extract_string({{ json_col }}, '{{ _json_path(path) }}')
    {%- endif -%}
{%- endmacro %}

{% macro _json_path(path) -%}
    ${% for key in path.split(".") %}."{{ key }}"{% endfor %}
{%- endmacro %}

{#-
    ISO 8601 text (date, time, then `Z` or an offset) as a UTC timestamp without time zone;
    text without an offset is read as UTC (the landing-zone contract), whatever the session's
    time zone; anything else is null.
-#}
{% macro utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('utc_timestamp')(expr)) }}
{%- endmacro %}

{#- PostgreSQL's cast errors on a day the month lacks: the day is checked first, in order. -#}
{% macro default__utc_timestamp(expr) -%}
    {%- set text = 'trim(' ~ expr ~ ')' -%}
    case
        when not {{ _iso_timestamp_shape(text) }} then null
        when {{ _date_part_of(text) }} is null then null
        when {{ _iso_timestamp_shape(text, offset=false) }} then cast({{ text }} as timestamp)
        else cast(cast({{ text }} as timestamptz) at time zone 'UTC' as timestamp)
    end
{%- endmacro %}

{#-
    DuckDB: text ending in Z takes the core parser (fast, no ICU); other offsets go through
    timestamptz; text without one is UTC already. A timestamp cast would drop an offset.
    The cast skips surrounding spaces itself: trimming first (a copy of every string) made
    the three timestamps of 4M web events take 1.9 s against 0.8 s, the same values.
-#}
{% macro duckdb__utc_timestamp(expr) -%}
    case
        when {{ expr }} like '%Z' then try_cast({{ expr }} as timestamp)
        when {{ _iso_timestamp_shape('trim(' ~ expr ~ ')', offset=false) }}
            then try_cast({{ expr }} as timestamp)
        when {{ _iso_timestamp_shape('trim(' ~ expr ~ ')') }}
            then cast(try_cast(trim({{ expr }}) as timestamptz) at time zone 'UTC' as timestamp)
    end
{%- endmacro %}

{#-
    The contract's ISO 8601 shapes, the patterns of extract_load/sources.py (a test keeps the
    two equal): date, T or a space, hh:mm[:ss[.fraction]], then for a timestamptz an optional
    Z or offset. A zone name is refused: DuckDB's timestamp parser reads '... Europe/Berlin'
    as UTC and PostgreSQL's as Berlin time. PostgreSQL has no try_cast either: a value is
    cast only when it has the shape of its type.
-#}
{% macro _iso_timestamp_shape(expr, offset=true) -%}
    {{ regexp_like(expr, '^' ~ _local_timestamp_pattern() ~ (_utc_offset_pattern() ~ '?' if offset else '') ~ '$') }}
{%- endmacro %}

{% macro _local_timestamp_pattern() -%}
    [0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[T ]([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9]([.][0-9]+)?)?
{%- endmacro %}

{% macro _utc_offset_pattern() -%}
    (Z|[+-][0-9]{2}(:?[0-9]{2})?)
{%- endmacro %}

{#- Local wall-clock text without a zone ('2026-03-04 17:05:00') as a timestamp; else null. -#}
{% macro safe_timestamp(expr) -%}
    {{ return(adapter.dispatch('safe_timestamp')(expr)) }}
{%- endmacro %}

{% macro default__safe_timestamp(expr) -%}
    {%- set text = 'trim(' ~ expr ~ ')' -%}
    case
        when not {{ _iso_timestamp_shape(text, offset=false) }} then null
        when {{ _date_part_of(text) }} is not null then cast({{ text }} as timestamp)
    end
{%- endmacro %}

{% macro duckdb__safe_timestamp(expr) -%}
    case
        when {{ _iso_timestamp_shape('trim(' ~ expr ~ ')', offset=false) }}
            then try_cast({{ expr }} as timestamp)
    end
{%- endmacro %}

{#-
    A decimal amount (18 digits, 2 after the point) from text; null when it is not a number
    in the contract's spelling (DuckDB's cast alone would take '1e3' and '1_000').
-#}
{% macro safe_decimal(expr) -%}
    {{ return(adapter.dispatch('safe_decimal')(expr)) }}
{%- endmacro %}

{% macro default__safe_decimal(expr) -%}
    case
        when {{ regexp_like('trim(' ~ expr ~ ')', '^' ~ _decimal_pattern() ~ '$') }}
            then cast(trim({{ expr }}) as decimal(18, 2))
    end
{%- endmacro %}

{% macro duckdb__safe_decimal(expr) -%}
    case
        when {{ regexp_like('trim(' ~ expr ~ ')', '^' ~ _decimal_pattern() ~ '$') }}
            then try_cast(trim({{ expr }}) as decimal(18, 2))
    end
{%- endmacro %}

{#- A whole number from text; null when it is not one (DuckDB's cast would round '1.5'). -#}
{% macro safe_integer(expr) -%}
    {{ return(adapter.dispatch('safe_integer')(expr)) }}
{%- endmacro %}

{% macro default__safe_integer(expr) -%}
    case
        when {{ regexp_like('trim(' ~ expr ~ ')', '^' ~ _integer_pattern() ~ '$') }}
            then cast(trim({{ expr }}) as bigint)
    end
{%- endmacro %}

{% macro duckdb__safe_integer(expr) -%}
    case
        when {{ regexp_like('trim(' ~ expr ~ ')', '^' ~ _integer_pattern() ~ '$') }}
            then try_cast(trim({{ expr }}) as bigint)
    end
{%- endmacro %}

{#- The patterns of extract_load/sources.py (a test keeps the two equal). -#}
{% macro _integer_pattern() -%}
    [+-]?[0-9]{1,18}
{%- endmacro %}

{% macro _decimal_pattern() -%}
    [+-]?([0-9]{1,16}([.][0-9]*)?|[.][0-9]+)
{%- endmacro %}

{#-
    A date typed as YYYY-MM-DD or as DD/MM/YYYY (the European spelling CRM users type); null
    for anything else, impossible dates (31/02/1990) included.
-#}
{% macro parse_date(expr) -%}
    {{ return(adapter.dispatch('parse_date')(expr)) }}
{%- endmacro %}

{#- make_date errors on an impossible day: the day is checked against the month's length. -#}
{% macro default__parse_date(expr) -%}
    {%- set text = 'trim(' ~ expr ~ ')' -%}
    case
        when {{ regexp_like(text, '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') }}
            then {{ _date_from_parts(
                'substr(' ~ text ~ ', 1, 4)', 'substr(' ~ text ~ ', 6, 2)',
                'substr(' ~ text ~ ', 9, 2)') }}
        when {{ regexp_like(text, '^[0-9]{2}/[0-9]{2}/[0-9]{4}$') }}
            then {{ _date_from_parts(
                'substr(' ~ text ~ ', 7, 4)', 'substr(' ~ text ~ ', 4, 2)',
                'substr(' ~ text ~ ', 1, 2)') }}
    end
{%- endmacro %}

{#- The date of ISO 8601 text already of the timestamp shape; null for a day the month lacks. -#}
{% macro _date_part_of(text) -%}
    {{ _date_from_parts(
        'substr(' ~ text ~ ', 1, 4)', 'substr(' ~ text ~ ', 6, 2)', 'substr(' ~ text ~ ', 9, 2)') }}
{%- endmacro %}

{% macro _date_from_parts(year, month, day) -%}
    {#- Nested cases: PostgreSQL evaluates a case's branches in order, an `and` in any order. -#}
    case
        when cast({{ month }} as integer) between 1 and 12 then
            case
                when cast({{ day }} as integer) between 1 and extract(day from (
                    make_date(cast({{ year }} as integer), cast({{ month }} as integer), 1)
                    + interval '1 month' - interval '1 day'
                ))
                    then make_date(
                        cast({{ year }} as integer),
                        cast({{ month }} as integer),
                        cast({{ day }} as integer)
                    )
            end
    end
{%- endmacro %}

{% macro duckdb__parse_date(expr) -%}
    cast(try_strptime(trim({{ expr }}), ['%Y-%m-%d', '%d/%m/%Y']) as date)
{%- endmacro %}

{#-
    A local wall-clock timestamp in the IANA time zone named by `tz` (a column or a quoted
    literal) as a UTC timestamp without zone. DuckDB (with ICU) and PostgreSQL share the SQL
    standard's AT TIME ZONE, so there is only the default; other warehouses override it
    (Snowflake: convert_timezone). Daylight saving is the zone database's.
-#}
{% macro local_to_utc(ts, tz) -%}
    {{ return(adapter.dispatch('local_to_utc')(ts, tz)) }}
{%- endmacro %}

{% macro default__local_to_utc(ts, tz) -%}
    cast(({{ ts }} at time zone {{ tz }}) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#-
    Milliseconds from timestamp `start` to timestamp `end` (negative when `end` is earlier).
    The default is dbt's cross-database datediff (a double on PostgreSQL, hence the cast);
    DuckDB's own function is one short call.
-#}
{% macro milliseconds_between(start, end) -%}
    {{ return(adapter.dispatch('milliseconds_between')(start, end)) }}
{%- endmacro %}

{% macro default__milliseconds_between(start, end) -%}
    cast({{ dbt.datediff(start, end, 'millisecond') }} as bigint)
{%- endmacro %}

{% macro duckdb__milliseconds_between(start, end) -%}
    date_diff('millisecond', {{ start }}, {{ end }})
{%- endmacro %}

{#- A stable text key from several columns (nulls and separators kept apart): md5 hex. -#}
{% macro hash_key(columns) -%}
    {{ return(adapter.dispatch('hash_key')(columns)) }}
{%- endmacro %}

{% macro default__hash_key(columns) -%}
    md5(
        {%- for column in columns %}
        coalesce(cast({{ column }} as varchar), '\N'){{ " || '|' ||" if not loop.last }}
        {%- endfor %}
    )
{%- endmacro %}

{#-
    The loader's `_loaded_at` as UTC wall-clock time: a `timestamptz` in DuckDB, the same
    value as text in a PostgreSQL raw layer copied from it (both cast the same way).
-#}
{% macro timestamptz_to_utc(expr) -%}
    cast(cast({{ expr }} as timestamptz) at time zone 'UTC' as timestamp)
{%- endmacro %}

{#-
    An aggregate: `expr` on the group's first row by `order_by` (a comma-separated list of
    columns that orders the rows uniquely), nulls kept. One aggregate instead of a
    row_number window and a filter: at 1M customers that window was a third sort of the
    clickstream in fct_sessions.
-#}
{% macro first_by(expr, order_by) -%}
    {{ return(adapter.dispatch('first_by')(expr, order_by)) }}
{%- endmacro %}

{% macro default__first_by(expr, order_by) -%}
    (array_agg({{ expr }} order by {{ order_by }}))[1]
{%- endmacro %}

{#- arg_min_null, not arg_min: arg_min skips rows where `expr` is null. -#}
{% macro duckdb__first_by(expr, order_by) -%}
    arg_min_null({{ expr }}, ({{ order_by }}))
{%- endmacro %}

{#-
    An aggregate: the number of distinct non-null values of `expr` in the group. DuckDB plans
    a `count(distinct)` beside other aggregates as a second aggregation over a copy of the
    input; in fct_sessions at 1M customers that copy was the 30M windowed events (spilled to
    disk). A list per group, deduplicated, is one aggregation: the model as a query took
    35 s against 38 s, 68 against 83 s of CPU, same rows.
-#}
{% macro distinct_count(expr) -%}
    {{ return(adapter.dispatch('distinct_count')(expr)) }}
{%- endmacro %}

{% macro default__distinct_count(expr) -%}
    count(distinct {{ expr }})
{%- endmacro %}

{#- list_distinct drops the nulls, as count(distinct) does. -#}
{% macro duckdb__distinct_count(expr) -%}
    len(list_distinct(list({{ expr }})))
{%- endmacro %}

{#-
    The group's values joined with `delimiter` in sorted order, nulls left out (null when
    there are none). DuckDB sorts each group of an ordered aggregate on its own: collecting a
    list and sorting it gives the same text faster (int_identity__identifiers at 1M
    customers, as a query: 33 s, 27 s this way, same rows).
-#}
{% macro sorted_listagg(expression, delimiter) -%}
    {{ return(adapter.dispatch('sorted_listagg')(expression, delimiter)) }}
{%- endmacro %}

{% macro default__sorted_listagg(expression, delimiter) -%}
    {{ dbt.listagg(expression, delimiter, 'order by ' ~ expression) }}
{%- endmacro %}

{% macro duckdb__sorted_listagg(expression, delimiter) -%}
    array_to_string(
        list_sort(list({{ expression }}) filter (where {{ expression }} is not null)),
        {{ delimiter }}
    )
{%- endmacro %}
