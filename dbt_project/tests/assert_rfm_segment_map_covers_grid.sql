-- Every (recency score, frequency score) cell must map to exactly one named segment.
with

scores as (

    select generated_number as score
    from ({{ dbt.generate_series(5) }}) as series

),

grid as (

    select
        recency.score as r_score,
        frequency.score as f_score
    from scores as recency
    cross join scores as frequency

),

matches as (

    select
        grid.r_score,
        grid.f_score,
        count(segment_map.rfm_segment) as segments
    from grid
    left join {{ ref('rfm_segment_map') }} as segment_map
        on
            grid.r_score between segment_map.r_score_min and segment_map.r_score_max
            and grid.f_score between segment_map.f_score_min and segment_map.f_score_max
    group by grid.r_score, grid.f_score

)

select * from matches
where segments != 1
