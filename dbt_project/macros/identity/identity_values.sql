{#-
    Identity resolution helpers: how an identifier value is normalised, how a record's two
    identifiers become one sighting row, and how a person id is derived from an identifier.
-#}

{#- A normalised identifier: emails lower-cased and trimmed, every other type trimmed; empty
    and the text `null` (any case) become null, a missing value rather than an identifier.
    Staging already normalises; doing it again here keeps the graph safe from a source whose
    staging forgot. -#}
{% macro identity_clean(identifier_type, expression) -%}
    case
        when lower(trim({{ expression }})) in ('', 'null') then null
        {%- if identifier_type == 'email' %}
        else lower(trim({{ expression }}))
        {%- else %}
        else trim({{ expression }})
        {%- endif %}
    end
{%- endmacro %}


{#- The four sighting columns for a record that names up to two identifiers: a pair when both
    are present, the one that is present alone otherwise. Callers filter out records that name
    neither. Arguments are column names of already cleaned values. -#}
{% macro identity_pair(left_type, left_value, right_type, right_value) -%}
    case
        when {{ left_value }} is not null then '{{ left_type }}' else '{{ right_type }}'
    end as left_type,
    coalesce({{ left_value }}, {{ right_value }}) as left_value,
    case
        when {{ left_value }} is not null and {{ right_value }} is not null
            then '{{ right_type }}'
    end as right_type,
    case when {{ left_value }} is not null then {{ right_value }} end as right_value
{%- endmacro %}


{#- The person id a component gets from its anchor identifier (its earliest-seen one):
    'P' and the first 16 hex digits of md5('<type>:<value>'). Deterministic, so a full rebuild
    gives every person the id they had. -#}
{% macro identity_person_id(identifier_type, identifier_value) -%}
    'P' || left({{ dbt.hash(dbt.concat([identifier_type, "':'", identifier_value])) }}, 16)
{%- endmacro %}
